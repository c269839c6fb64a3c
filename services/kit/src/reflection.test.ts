import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { equals, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { descriptorSet, descriptorSetBytes } from "@orderly/proto/descriptors";
import * as v1 from "@orderly/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@orderly/proto/grpc/reflection/v1alpha/reflection";
import {
  GetUserResponse,
  UserServiceService,
  type UserServiceServer,
} from "@orderly/proto/orderly/user/v1/user_service";
import { addReflection } from "./reflection.js";

const PYTHON = "/usr/bin/python3";
const CHECK_SCRIPT = fileURLToPath(new URL("../../../test/reflection_check.py", import.meta.url));
const TOKEN = "test-token";

type Request = v1.ServerReflectionRequest;
type Response = v1.ServerReflectionResponse;
type RequestKind = NonNullable<Request["messageRequest"]>;

let server: grpc.Server;
let address: string;

beforeAll(async () => {
  server = new grpc.Server();
  addReflection(server, { services: ["orderly.user.v1.UserService"] });
  // Only GetUser is stubbed; grpc-js answers UNIMPLEMENTED for the methods left out.
  const impl: Pick<UserServiceServer, "getUser"> = {
    getUser: (call, callback) => {
      if (call.metadata.get("authorization")[0] !== `Bearer ${TOKEN}`) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: "bad or missing bearer token" });
        return;
      }
      callback(null, GetUserResponse.fromPartial({ user: { id: call.request.id, email: "ada@example.com" } }));
    },
  };
  server.addService(UserServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => server.forceShutdown());

/** One reflection stream asked one request at a time, answers awaited in order. */
class Stream {
  private readonly call: grpc.ClientDuplexStream<Request, Response>;
  private readonly answers: Response[] = [];
  private readonly waiting: ((r: Response) => void)[] = [];
  readonly status: Promise<grpc.StatusObject>;

  constructor(version: "v1" | "v1alpha") {
    const Client = version === "v1" ? v1.ServerReflectionClient : v1alpha.ServerReflectionClient;
    const client = new Client(address, grpc.credentials.createInsecure());
    this.call = client.serverReflectionInfo();
    this.call.on("data", (r: Response) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(r);
      else this.answers.push(r);
    });
    this.call.on("error", () => {}); // surfaced through `status`
    this.status = new Promise((resolve) => this.call.on("status", resolve));
  }

  ask(kind: RequestKind | undefined, host = "reflection.test"): Promise<Response> {
    this.call.write({ host, messageRequest: kind });
    const ready = this.answers.shift();
    return ready ? Promise.resolve(ready) : new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Half-closes and resolves with the final status (the server must end the stream). */
  async close(): Promise<grpc.StatusObject> {
    this.call.end();
    return this.status;
  }
}

function servedFiles(r: Response): FileDescriptorProto[] {
  if (r.messageResponse?.$case !== "fileDescriptorResponse") throw new Error(`not a file answer: ${JSON.stringify(r)}`);
  return r.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

function errorOf(r: Response): v1.ErrorResponse {
  if (r.messageResponse?.$case !== "errorResponse") throw new Error(`not an error: ${JSON.stringify(r)}`);
  return r.messageResponse.value;
}

const symbol = (value: string): RequestKind => ({ $case: "fileContainingSymbol", value });

describe.each(["v1", "v1alpha"] as const)("reflection %s", (version) => {
  it("lists exactly the served services and echoes host and request", async () => {
    const stream = new Stream(version);
    const r = await stream.ask({ $case: "listServices", value: "*" }, "api.example:443");
    expect(r.validHost).toBe("api.example:443");
    expect(r.originalRequest).toEqual({
      host: "api.example:443",
      messageRequest: { $case: "listServices", value: "*" },
    });
    expect(r.messageResponse).toEqual({
      $case: "listServicesResponse",
      value: {
        service: [
          { name: "orderly.user.v1.UserService" },
          { name: "grpc.reflection.v1.ServerReflection" },
          { name: "grpc.reflection.v1alpha.ServerReflection" },
        ],
      },
    });
    expect((await stream.close()).code).toBe(grpc.status.OK);
  });

  it("serves a service's file with every transitive dependency, once each, as buf built them", async () => {
    const stream = new Stream(version);
    const answer = await stream.ask(symbol("orderly.user.v1.UserService"));
    const files = servedFiles(answer);
    const names = files.map((f) => f.name);
    expect(names[0]).toBe("orderly/user/v1/user_service.proto");
    expect([...names].sort()).toEqual([
      "google/protobuf/descriptor.proto",
      "google/protobuf/field_mask.proto",
      "google/protobuf/timestamp.proto",
      "orderly/auth/v1/auth.proto",
      "orderly/user/v1/user.proto",
      "orderly/user/v1/user_service.proto",
    ]);
    // Byte for byte what buf wrote: find each served file's bytes inside proto/gen/orderly.binpb.
    const image = Buffer.from(descriptorSetBytes);
    if (answer.messageResponse?.$case !== "fileDescriptorResponse") throw new Error("not a file answer");
    for (const bytes of answer.messageResponse.value.fileDescriptorProto) {
      expect(image.indexOf(Buffer.from(bytes))).toBeGreaterThan(0);
    }
    for (const file of files) {
      const original = descriptorSet.file.find((f) => f.name === file.name)!;
      expect(equals(FileDescriptorProtoSchema, file, original), file.name).toBe(true);
      expect(file.sourceCodeInfo?.location.length ?? 0, `${file.name} keeps source info`).toBeGreaterThan(0);
    }
    const user = files.find((f) => f.name === "orderly/user/v1/user.proto")!;
    const profile = user.messageType.find((m) => m.name === "Profile")!;
    const entry = profile.nestedType.find((m) => m.name === "PreferencesEntry");
    expect(entry?.options?.mapEntry).toBe(true);
    expect(profile.field.find((f) => f.name === "preferences")?.typeName).toBe(
      ".orderly.user.v1.Profile.PreferencesEntry",
    );
    await stream.close();
  });

  it("resolves methods, nested messages, fields, extensions and file names", async () => {
    const stream = new Stream(version);
    const first = async (kind: RequestKind) => servedFiles(await stream.ask(kind)).map((f) => f.name);
    expect((await first(symbol("orderly.user.v1.UserService.GetUser")))[0]).toBe("orderly/user/v1/user_service.proto");
    expect((await first(symbol("orderly.user.v1.Profile.PreferencesEntry")))[0]).toBe("orderly/user/v1/user.proto");
    expect((await first(symbol(".orderly.user.v1.User")))[0]).toBe("orderly/user/v1/user.proto");
    expect((await first(symbol("orderly.user.v1.User.email")))[0]).toBe("orderly/user/v1/user.proto");
    expect(await first(symbol("google.protobuf.FieldDescriptorProto.Type"))).toEqual([
      "google/protobuf/descriptor.proto",
    ]);
    expect(await first(symbol("orderly.auth.v1.policy"))).toEqual([
      "orderly/auth/v1/auth.proto",
      "google/protobuf/descriptor.proto",
    ]);
    expect(await first({ $case: "fileByFilename", value: "orderly/user/v1/user.proto" })).toEqual([
      "orderly/user/v1/user.proto",
      "google/protobuf/timestamp.proto",
    ]);
    const extension = { containingType: "google.protobuf.MethodOptions", extensionNumber: 51234 };
    expect((await first({ $case: "fileContainingExtension", value: extension }))[0]).toBe("orderly/auth/v1/auth.proto");
    await stream.close();
  });

  it("answers extension numbers of a type", async () => {
    const stream = new Stream(version);
    const numbers = async (value: string) =>
      (await stream.ask({ $case: "allExtensionNumbersOfType", value })).messageResponse;
    expect(await numbers("google.protobuf.MethodOptions")).toEqual({
      $case: "allExtensionNumbersResponse",
      value: { baseTypeName: "google.protobuf.MethodOptions", extensionNumber: [51234] },
    });
    expect(await numbers("orderly.user.v1.User")).toEqual({
      $case: "allExtensionNumbersResponse",
      value: { baseTypeName: "orderly.user.v1.User", extensionNumber: [] },
    });
    await stream.close();
  });

  it("answers unknowns with NOT_FOUND, malformed requests with INVALID_ARGUMENT, and keeps the stream", async () => {
    const stream = new Stream(version);
    const notFound: RequestKind[] = [
      symbol("orderly.user.v1.NoSuchThing"),
      symbol("orderly.user.v1.User.no_such_field"),
      symbol("google.protobuf.FieldDescriptorProto.Type.TYPE_STRING"), // enum values are not symbols
      { $case: "fileByFilename", value: "orderly/nope.proto" },
      {
        $case: "fileContainingExtension",
        value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 7 },
      },
      { $case: "allExtensionNumbersOfType", value: "orderly.user.v1.Nope" },
    ];
    for (const kind of notFound) {
      const r = await stream.ask(kind);
      expect(errorOf(r).errorCode, JSON.stringify(kind)).toBe(grpc.status.NOT_FOUND);
      expect(r.originalRequest?.messageRequest).toEqual(kind);
    }
    expect(errorOf(await stream.ask(symbol("orderly.user.v1.NoSuchThing"))).errorMessage).toContain(
      "orderly.user.v1.NoSuchThing",
    );
    expect(errorOf(await stream.ask(symbol(""))).errorCode).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorOf(await stream.ask(undefined)).errorCode).toBe(grpc.status.INVALID_ARGUMENT);
    // The next request on the same stream is answered normally.
    expect(servedFiles(await stream.ask(symbol("orderly.user.v1.User")))[0]?.name).toBe("orderly/user/v1/user.proto");
    expect((await stream.close()).code).toBe(grpc.status.OK);
  });
});

describe("reflection robustness", () => {
  it("answers undecodable bytes with INVALID_ARGUMENT and goes on serving the stream", async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      (b: Buffer) => b,
      (b: Buffer) => v1.ServerReflectionResponse.decode(b),
    );
    const answers: Response[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.on("data", (r: Response) => answers.push(r));
    call.on("error", () => {});
    call.write(Buffer.from([0x1a, 0x09, 0x61])); // file_by_filename claims 9 bytes, has 1
    call.write(
      Buffer.from(
        v1.ServerReflectionRequest.encode({ host: "", messageRequest: symbol("orderly.user.v1.User") }).finish(),
      ),
    );
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(answers).toHaveLength(2);
    expect(errorOf(answers[0]!).errorCode).toBe(grpc.status.INVALID_ARGUMENT);
    expect(servedFiles(answers[1]!)[0]?.name).toBe("orderly/user/v1/user.proto");
    client.close();
  });

  it("refuses at startup a service it has no descriptor for, or a set missing an import", () => {
    expect(() => addReflection(new grpc.Server(), { services: ["orderly.nope.v1.Nope"] })).toThrow(
      /orderly.nope.v1.Nope/,
    );
    const withoutImports = create(FileDescriptorSetSchema, {
      file: descriptorSet.file.filter((f) => f.name !== "google/protobuf/timestamp.proto"),
    });
    expect(() => addReflection(new grpc.Server(), { services: [], descriptorSet: withoutImports })).toThrow(
      /imports google\/protobuf\/timestamp.proto/,
    );
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Async on purpose: the server under test runs on this process's event loop, which execFileSync would block.
function runPython(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(PYTHON, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : "") });
    });
  });
}

describe("independent check with Python grpcio + protobuf (test/reflection_check.py)", () => {
  beforeAll(async () => {
    const probe = await runPython(["-c", "import grpc, google.protobuf"]);
    if (probe.code !== 0) {
      throw new Error(
        `${PYTHON} cannot import grpc/google.protobuf (${probe.stderr.trim()}): ` +
          "apt-get install -y python3-grpcio python3-protobuf",
      );
    }
  });

  it.each(["v1", "v1alpha"])(
    "loads every listed service into a strict pool and calls GetUser by name (%s)",
    async (protocol) => {
      const run = await runPython([
        CHECK_SCRIPT,
        address,
        "--protocol",
        protocol,
        "--token",
        TOKEN,
        "--call",
        "orderly.user.v1.UserService/GetUser",
        "--request-json",
        '{"id":"usr_x"}',
      ]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split("\n");
      expect(lines.filter((l) => l.startsWith("ok "))).toHaveLength(3);
      expect(run.stdout).toContain("ok orderly.user.v1.UserService: orderly/user/v1/user_service.proto");
      expect(run.stdout).toContain("ok grpc.reflection.v1alpha.ServerReflection:");
      const call = lines.find((l) => l.startsWith("call orderly.user.v1.UserService/GetUser -> "))!;
      expect(JSON.parse(call.slice(call.indexOf("-> ") + 3))).toEqual({
        user: { id: "usr_x", email: "ada@example.com" },
      });
    },
  );

  it("fails loudly when the call fails (wrong token)", async () => {
    const run = await runPython([
      CHECK_SCRIPT,
      address,
      "--token",
      "wrong",
      "--call",
      "orderly.user.v1.UserService/GetUser",
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("UNAUTHENTICATED");
  });
});
