// The README's buf.gen.yaml examples for Go and Java, run exactly as written with the plugins Debian packages, and
// their output compiled offline: Go in GOPATH mode against golang-google-grpc-dev, Java with javac against
// libprotobuf-java and libgrpc-java. Nothing generated here is kept: it goes to a temporary directory.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const BUF = join("node_modules", ".bin", "buf");
const DEBIAN_GO_PATH = "/usr/share/gocode";
const DEBIAN_JARS = ["protobuf", "grpc-api", "grpc-stub", "grpc-protobuf", "guava", "geronimo-annotation-1.3-spec"].map(
  (jar) => `/usr/share/java/${jar}.jar`,
);
const INSTALL_HINT =
  "apt-get install -y golang-go protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev golang-google-protobuf-dev protobuf-compiler-grpc-java-plugin libprotobuf-java libgrpc-java (.ci/run installs them)";

/** The first lines of the README blocks this file runs. */
const GO_BLOCK =
  "# buf.gen.go.yaml: Go with local plugins (Debian: protoc-gen-go, protoc-gen-go-grpc; or go install them)";
const JAVA_BLOCK = "# buf.gen.java.yaml: Java with protoc's built-in java generator and the gRPC Java plugin";

const work = mkdtempSync(join(tmpdir(), "orderly-other-languages-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The README's yaml block whose first line is `firstLine`. */
function readmeBlock(firstLine: string): string {
  const block = readFileSync("README.md", "utf8")
    .split("```yaml\n")
    .slice(1)
    .map((rest) => rest.slice(0, rest.indexOf("```")))
    .find((body) => body.startsWith(`${firstLine}\n`));
  if (!block) throw new Error(`README.md has no yaml block starting with ${JSON.stringify(firstLine)}`);
  return block;
}

/** Runs the README block as a buf template, writing under `base`; returns the generated files, relative to `base`. */
async function generate(firstLine: string, base: string): Promise<string[]> {
  const template = join(work, firstLine.split(" ")[1]!.replace(/:$/, ""));
  writeFileSync(template, readmeBlock(firstLine));
  await run(BUF, ["generate", "--template", template, "-o", base]).catch((error: unknown) =>
    Promise.reject(
      new Error(`buf generate --template ${template} failed: ${String(error)}\n${INSTALL_HINT}`, { cause: error }),
    ),
  );
  return files(base).map((file) => file.slice(base.length + 1));
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

async function compile(command: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  try {
    await run(command, args, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stderr, stdout, code } = error as { stderr?: string; stdout?: string; code?: string | number };
    const missing = code === "ENOENT" ? `${command} is not installed. ` : "";
    throw new Error(
      `${command} ${args.slice(0, 3).join(" ")} ... failed:\n${stdout ?? ""}${stderr ?? ""}\n${missing}${INSTALL_HINT}`,
      { cause: error },
    );
  }
}

describe("other languages from the README's buf.gen.yaml examples", () => {
  it("Go: protoc-gen-go and protoc-gen-go-grpc generate both services, and the packages compile", async () => {
    // The block's go_package_prefix names where the code lives in GOPATH: example.com/yourteam/orderly + out gen/go.
    const block = readmeBlock(GO_BLOCK);
    expect(block).toContain("value: example.com/yourteam/orderly/gen/go");
    const goPath = join(work, "go");
    const module = join(goPath, "src", "example.com", "yourteam", "orderly");
    const generated = await generate(GO_BLOCK, module);
    expect(generated.sort()).toEqual(
      [
        "auth/v1/auth.pb.go",
        "order/v1/order.pb.go",
        "order/v1/order_service.pb.go",
        "order/v1/order_service_grpc.pb.go",
        "user/v1/user.pb.go",
        "user/v1/user_service.pb.go",
        "user/v1/user_service_grpc.pb.go",
      ].map((file) => `gen/go/orderly/${file}`),
    );
    expect(readFileSync(join(module, "gen/go/orderly/user/v1/user_service_grpc.pb.go"), "utf8")).toContain(
      "func NewUserServiceClient(",
    );
    // GOPATH mode: Debian's Go libraries live in /usr/share/gocode and no module proxy is needed (or reachable).
    await compile("go", ["build", "example.com/yourteam/orderly/gen/go/..."], {
      GO111MODULE: "off",
      GOPATH: `${goPath}:${DEBIAN_GO_PATH}`,
      GOFLAGS: "",
    });
  }, 180_000);

  it("Java: protoc's java and grpc_java_plugin generate both services, and the sources compile", async () => {
    const out = join(work, "java");
    const generated = await generate(JAVA_BLOCK, out);
    const stubs = generated.filter((file) => file.endsWith("Grpc.java")).sort();
    expect(stubs).toEqual([
      "gen/java/com/example/orderly/order/v1/OrderServiceGrpc.java",
      "gen/java/com/example/orderly/user/v1/UserServiceGrpc.java",
    ]);
    const sources = generated.filter((file) => file.endsWith(".java")).map((file) => join(out, file));
    // A one-shot compile: the JVM's quick tier and no annotation processing halve javac's time here
    // (about 10 s -> 5 s).
    const quickJvm = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-proc:none"];
    await compile("javac", [...quickJvm, "-d", join(work, "classes"), "-cp", DEBIAN_JARS.join(":"), ...sources]);
    expect(statSync(join(work, "classes/com/example/orderly/order/v1/OrderServiceGrpc.class")).isFile()).toBe(true);
  }, 180_000);
});
