// The exact descriptor set `buf build` produces for proto/ (imports and source comments included). Reflection serves
// it as is, and the server kit reads method options (auth policy, idempotency) from it.
import { readFileSync } from "node:fs";
import { fromBinary, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { createFileRegistry } from "@bufbuild/protobuf";

/** The raw bytes of proto/gen/orderly.binpb (a google.protobuf.FileDescriptorSet). */
export const descriptorSetBytes: Uint8Array = readFileSync(new URL("./gen/orderly.binpb", import.meta.url));

/** The descriptor set, decoded. */
export const descriptorSet: FileDescriptorSet = fromBinary(FileDescriptorSetSchema, descriptorSetBytes);

/** A registry of every file, message, service and extension in the descriptor set. */
export const registry: Registry = createFileRegistry(descriptorSet);
