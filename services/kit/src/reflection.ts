// gRPC server reflection (grpc.reflection.v1 and v1alpha) answered from the buf-built descriptor set, not from
// proto-loader: proto-loader's descriptors drop file dependencies and misname map entries, which breaks grpcurl
// describe and dynamic calls. Files are sent with all their transitive dependencies, as grpc-go does, so a strict
// client (a fresh protobuf DescriptorPool) can load them.
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  type FileDescriptorSet,
} from "@bufbuild/protobuf/wkt";
import { descriptorSetBytes } from "@orderly/proto/descriptors";
import * as v1 from "@orderly/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@orderly/proto/grpc/reflection/v1alpha/reflection";

/** The reflection services addReflection registers; list_services always names them. */
export const REFLECTION_SERVICES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/** What addReflection serves. */
export interface ReflectionOptions {
  /** Fully-qualified names of the services this server really serves (e.g. "orderly.user.v1.UserService"). */
  services: string[];
  /**
   * Descriptors to serve instead of proto/gen/orderly.binpb (whose file bytes are served exactly as buf wrote them).
   */
  descriptorSet?: FileDescriptorSet;
}

// v1 and v1alpha messages are the same wire format and, generated, the same TypeScript shapes; v1 types stand for both.
type Request = v1.ServerReflectionRequest;
type Response = v1.ServerReflectionResponse;
type Answer = Response["messageResponse"];
// What the tolerant deserializer hands the handler: undecodable bytes must become an error_response, not kill the
// stream.
type Incoming = { request: Request } | { malformed: string };

interface Index {
  /** File name → the file and its serialized bytes (serialized once, here). */
  files: Map<string, { proto: FileDescriptorProto; bytes: Buffer }>;
  /** Fully-qualified symbol (message, enum, service, method, extension) → file name. */
  symbols: Map<string, string>;
  /** Fully-qualified message name → message, so that fields can be resolved through their message. */
  messages: Map<string, DescriptorProto>;
  /** Extendee → extension number → file name. */
  extensions: Map<string, Map<number, string>>;
  /** What list_services answers. */
  services: string[];
}

/** Registers grpc.reflection.v1 and v1alpha ServerReflection on `server`, answering from the buf descriptor set. */
export function addReflection(server: grpc.Server, options: ReflectionOptions): void {
  const files = options.descriptorSet
    ? options.descriptorSet.file.map((file) => ({ proto: file, bytes: toBinary(FileDescriptorProtoSchema, file) }))
    : exactFiles(descriptorSetBytes);
  const index = buildIndex(files, options.services);
  for (const generated of [v1.ServerReflectionService, v1alpha.ServerReflectionService]) {
    const method = generated.serverReflectionInfo;
    const definition = {
      serverReflectionInfo: {
        ...method,
        // grpc-js ends the whole call with INTERNAL when deserialization throws; we answer INVALID_ARGUMENT and go on.
        requestDeserialize: (bytes: Buffer): Incoming => {
          try {
            return { request: method.requestDeserialize(bytes) };
          } catch (err) {
            return { malformed: err instanceof Error ? err.message : String(err) };
          }
        },
      },
    };
    server.addService(definition, {
      serverReflectionInfo: (call: grpc.ServerDuplexStream<Incoming, Response>) => serve(index, call),
    });
  }
}

function serve(index: Index, call: grpc.ServerDuplexStream<Incoming, Response>): void {
  call.on("data", (incoming: Incoming) => {
    let response: Response;
    try {
      response = respond(index, incoming);
    } catch (err) {
      // A bug here must cost one answer, never the stream or the server.
      response = {
        validHost: "",
        originalRequest: undefined,
        messageResponse: error(grpc.status.INTERNAL, String(err)),
      };
    }
    if (!call.cancelled) call.write(response);
  });
  call.on("end", () => call.end());
  // The client went away (cancel, reset); there is nothing to clean up, but an unheard "error" event would throw.
  call.on("error", () => {});
}

function respond(index: Index, incoming: Incoming): Response {
  if ("malformed" in incoming) {
    const answer = error(grpc.status.INVALID_ARGUMENT, `undecodable ServerReflectionRequest: ${incoming.malformed}`);
    return { validHost: "", originalRequest: undefined, messageResponse: answer };
  }
  const request = incoming.request;
  return { validHost: request.host, originalRequest: request, messageResponse: answer(index, request) };
}

function answer(index: Index, request: Request): Answer {
  const asked = request.messageRequest;
  switch (asked?.$case) {
    case "fileByFilename": {
      if (!asked.value) return error(grpc.status.INVALID_ARGUMENT, "file_by_filename is empty");
      if (!index.files.has(asked.value)) return error(grpc.status.NOT_FOUND, `file not found: ${asked.value}`);
      return files(index, asked.value);
    }
    case "fileContainingSymbol": {
      const symbol = trimDot(asked.value);
      if (!symbol) return error(grpc.status.INVALID_ARGUMENT, "file_containing_symbol is empty");
      const file = index.symbols.get(symbol) ?? fieldFile(index, symbol);
      if (!file) return error(grpc.status.NOT_FOUND, `symbol not found: ${symbol}`);
      return files(index, file);
    }
    case "fileContainingExtension": {
      const type = trimDot(asked.value.containingType);
      if (!type) return error(grpc.status.INVALID_ARGUMENT, "file_containing_extension.containing_type is empty");
      const file = index.extensions.get(type)?.get(asked.value.extensionNumber);
      if (!file) return error(grpc.status.NOT_FOUND, `extension not found: ${type} #${asked.value.extensionNumber}`);
      return files(index, file);
    }
    case "allExtensionNumbersOfType": {
      const type = trimDot(asked.value);
      if (!type) return error(grpc.status.INVALID_ARGUMENT, "all_extension_numbers_of_type is empty");
      // Like grpc-go: a known message without extensions has an empty list; an unknown type is NOT_FOUND.
      if (!index.messages.has(type)) return error(grpc.status.NOT_FOUND, `message type not found: ${type}`);
      const numbers = [...(index.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
      const value = { baseTypeName: type, extensionNumber: numbers };
      return { $case: "allExtensionNumbersResponse", value };
    }
    case "listServices": // Its string is unused, as the protocol says.
      return { $case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    default:
      return error(grpc.status.INVALID_ARGUMENT, "the request sets none of the reflection request kinds");
  }
}

/** The file and its transitive dependencies, each once, the asked file first (grpc-go's order). */
function files(index: Index, name: string): Answer {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const entry = index.files.get(file);
    if (!entry) return; // buildIndex checked every dependency is present; this keeps the walk total.
    out.push(entry.bytes);
    entry.proto.dependency.forEach(visit);
  };
  visit(name);
  return { $case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
}

/** Fields are not indexed; "pkg.Message.field" resolves to its message's file. */
function fieldFile(index: Index, symbol: string): string | undefined {
  const dot = symbol.lastIndexOf(".");
  if (dot < 0) return undefined;
  const message = index.messages.get(symbol.slice(0, dot));
  const name = symbol.slice(dot + 1);
  if (!message?.field.some((field) => field.name === name)) return undefined;
  return index.symbols.get(symbol.slice(0, dot));
}

function error(errorCode: grpc.status, errorMessage: string): Answer {
  return { $case: "errorResponse", value: { errorCode, errorMessage } };
}

// Some clients send names with protobuf's leading-dot absolute form (".pkg.Type"); the index holds them without.
function trimDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

/**
 * The files of a serialized FileDescriptorSet, each with its bytes exactly as buf wrote them (re-serializing would
 * reorder option fields), decoded alongside for the index.
 */
function exactFiles(setBytes: Uint8Array): { proto: FileDescriptorProto; bytes: Uint8Array }[] {
  const reader = new BinaryReader(setBytes);
  const files: { proto: FileDescriptorProto; bytes: Uint8Array }[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) {
      const bytes = reader.bytes();
      files.push({ proto: fromBinary(FileDescriptorProtoSchema, bytes), bytes });
    } else {
      reader.skip(wireType);
    }
  }
  return files;
}

function buildIndex(files: { proto: FileDescriptorProto; bytes: Uint8Array }[], services: string[]): Index {
  const index: Index = {
    files: new Map(),
    symbols: new Map(),
    messages: new Map(),
    extensions: new Map(),
    services: [],
  };
  const serviceNames = new Set<string>();
  for (const { proto: file, bytes } of files) {
    index.files.set(file.name, { proto: file, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    const prefix = file.package ? `${file.package}.` : "";
    const extension = (scope: string, ext: FieldDescriptorProto): void => {
      index.symbols.set(scope + ext.name, file.name);
      const extendee = trimDot(ext.extendee);
      const byNumber = index.extensions.get(extendee) ?? new Map<number, string>();
      index.extensions.set(extendee, byNumber.set(ext.number, file.name));
    };
    const message = (scope: string, msg: DescriptorProto): void => {
      const name = scope + msg.name;
      index.symbols.set(name, file.name);
      index.messages.set(name, msg);
      msg.nestedType.forEach((nested) => message(`${name}.`, nested));
      msg.enumType.forEach((e) => index.symbols.set(`${name}.${e.name}`, file.name));
      msg.extension.forEach((ext) => extension(`${name}.`, ext));
    };
    file.messageType.forEach((msg) => message(prefix, msg));
    file.enumType.forEach((e) => index.symbols.set(prefix + e.name, file.name));
    file.extension.forEach((ext) => extension(prefix, ext));
    for (const service of file.service) {
      const name = prefix + service.name;
      index.symbols.set(name, file.name);
      serviceNames.add(name);
      service.method.forEach((method) => index.symbols.set(`${name}.${method.name}`, file.name));
    }
  }
  // Fail at startup rather than hand clients files they cannot load (a set built without imports) ...
  for (const { proto } of index.files.values()) {
    const missing = proto.dependency.filter((dep) => !index.files.has(dep));
    if (missing.length > 0) {
      throw new Error(`reflection: ${proto.name} imports ${missing.join(", ")}, absent from the descriptor set`);
    }
  }
  // ... or list services that describe would then fail to find.
  index.services = [...new Set([...services, ...REFLECTION_SERVICES])];
  const unknown = index.services.filter((name) => !serviceNames.has(name));
  if (unknown.length > 0) throw new Error(`reflection: no descriptor for service(s) ${unknown.join(", ")}`);
  return index;
}
