// The shape rules that keep Orderly's packages and layers apart, checked on the source. Package boundaries: each
// workspace declares exactly the @orderly packages it imports; @orderly/common depends on nothing of ours but the
// contract; the kit knows neither clients nor storage; clients know no server code; storage knows no gRPC. Layers:
// domain code imports nothing of gRPC, the contract or storage; services never import each other (orders' tests may
// start a real UserService). Third-party dependencies are checked by `npm run deps` (knip) in CI.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

interface Workspace {
  dir: string;
  name: string;
  dependencies: string[];
  devDependencies: string[];
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

const workspaces: Workspace[] = (readJson("package.json")["workspaces"] as string[]).map((dir) => {
  const manifest = readJson(join(dir, "package.json"));
  const keys = (field: string) => Object.keys((manifest[field] as Record<string, string> | undefined) ?? {});
  return {
    dir,
    name: manifest["name"] as string,
    dependencies: keys("dependencies"),
    devDependencies: keys("devDependencies"),
  };
});
const workspace = (name: string): Workspace => workspaces.find((w) => w.name === name)!;
const services = ["@orderly/users", "@orderly/orders"].map(workspace);

/** TypeScript files under dir, without generated code and dependencies; tests too unless `tests` is false. */
function sources(dir: string, tests = true): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "gen") return [];
    if (statSync(path).isDirectory()) return sources(path, tests);
    return path.endsWith(".ts") && (tests || !path.endsWith(".test.ts")) ? [path] : [];
  });
}

function importsOf(path: string): string[] {
  // `import x from "a"`, `export { x } from "a"`, `import "a"` (side effects only) and `import("a")`.
  const pattern =
    /(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  return [...readFileSync(path, "utf8").matchAll(pattern)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** "@orderly/kit/domain" -> "@orderly/kit"; "pg" -> "pg"; relative paths stay as they are. */
function packageOf(spec: string): string {
  return spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
}

/** Every `file: spec` in the files whose import matches. */
function offenders(files: string[], matches: (spec: string) => boolean): string[] {
  return files.flatMap((file) =>
    importsOf(file)
      .filter(matches)
      .map((spec) => `${file}: ${spec}`),
  );
}

const GRPC = (spec: string) => spec.startsWith("@grpc/") || spec === "grpc-health-check";
const DRIVERS = (spec: string) => spec === "pg" || spec === "better-sqlite3";

describe("package boundaries", () => {
  for (const w of workspaces.filter((w) => w.name !== "@orderly/proto")) {
    it(`${w.name} declares exactly the @orderly packages it imports (runtime code from dependencies)`, () => {
      const ours = (files: string[]) =>
        new Set(
          files
            .flatMap(importsOf)
            .map(packageOf)
            .filter((p) => p.startsWith("@orderly/") && p !== w.name),
        );
      const runtime = ours(sources(w.dir, false));
      const all = ours(sources(w.dir));
      const declared = [...w.dependencies, ...w.devDependencies].filter((d) => d.startsWith("@orderly/"));
      expect({
        undeclared: [...all].filter((p) => !declared.includes(p)),
        runtimeFromDevDependencies: [...runtime].filter((p) => w.devDependencies.includes(p)),
        unused: declared.filter((d) => !all.has(d)),
      }).toEqual({ undeclared: [], runtimeFromDevDependencies: [], unused: [] });
    });
  }

  it("@orderly/common imports nothing of ours but the contract", () => {
    const files = sources(workspace("@orderly/common").dir);
    expect(offenders(files, (s) => s.startsWith("@orderly/") && !s.startsWith("@orderly/proto/"))).toEqual([]);
  });

  it("the kit imports neither the clients, storage, a database driver nor a service", () => {
    const forbidden = ["@orderly/clients", "@orderly/storage", ...services.map((s) => s.name)];
    const files = sources(workspace("@orderly/kit").dir);
    expect(offenders(files, (s) => forbidden.includes(packageOf(s)) || DRIVERS(s))).toEqual([]);
  });

  it("the clients import no server code: no kit, no storage, no service", () => {
    const forbidden = ["@orderly/kit", "@orderly/storage", ...services.map((s) => s.name)];
    expect(offenders(sources(workspace("@orderly/clients").dir), (s) => forbidden.includes(packageOf(s)))).toEqual([]);
  });

  it("storage imports no gRPC: nothing of grpc-js, the contract, the clients or the kit beyond its domain part", () => {
    const files = sources(workspace("@orderly/storage").dir);
    const grpcSide = (s: string) =>
      GRPC(s) ||
      ["@orderly/proto", "@orderly/common", "@orderly/clients"].includes(packageOf(s)) ||
      s === "@orderly/kit";
    expect(offenders(files, grpcSide)).toEqual([]);
  });
});

describe("layers", () => {
  for (const service of services) {
    it(`${service.dir}/src/domain imports nothing of gRPC, the contract, storage or the kit beyond @orderly/kit/domain`, () => {
      const files = sources(`${service.dir}/src/domain`, false);
      const outside = (s: string) =>
        GRPC(s) ||
        DRIVERS(s) ||
        (s.startsWith("@orderly/") && s !== "@orderly/kit/domain") ||
        s.includes("/grpc/") ||
        s.includes("/store/");
      expect(offenders(files, outside)).toEqual([]);
    });

    it(`${service.dir} imports no other service (tests of orders may start a real UserService)`, () => {
      const others = services.filter((s) => s !== service).map((s) => s.name);
      const runtime = offenders(
        sources(`${service.dir}/src`, false),
        (s) => others.includes(packageOf(s)) || s.includes("services/"),
      );
      const allowedInTests = service.name === "@orderly/orders" ? ["@orderly/users"] : [];
      const tests = offenders(
        sources(`${service.dir}/src`).filter((f) => f.endsWith(".test.ts")),
        (s) => (others.includes(packageOf(s)) && !allowedInTests.includes(packageOf(s))) || s.includes("services/"),
      );
      expect([...runtime, ...tests]).toEqual([]);
    });
  }

  it("the kit's domain part imports nothing but itself", () => {
    expect(offenders(sources("services/kit/src/domain", false), (s) => !s.startsWith("./"))).toEqual([]);
  });

  it("no service or client source reads process.env but the kit's config.ts (every setting is in its schema)", () => {
    const files = [
      "common/src",
      "clients/src",
      ...workspaces.filter((w) => w.dir.startsWith("services/")).map((w) => w.dir),
    ]
      .flatMap((dir) => sources(dir, false))
      // Test support (storage's testing.ts reads the test database's URL) is no service setting.
      .filter((file) => !file.endsWith("testing.ts") && file !== join("services", "kit", "src", "config.ts"));
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((file) => /process\.env|process\[["']env["']\]/.test(readFileSync(file, "utf8")))).toEqual([]);
  });

  it("no source cites a document outside the repo (the product rules are docs/product.md)", () => {
    const files = ["common", "clients", "services", "test"].flatMap((dir) => sources(dir));
    const citing = files.filter((file) => /DOMAIN\.md|shared\//.test(readFileSync(file, "utf8")));
    expect(citing).toEqual([]);
  });
});
