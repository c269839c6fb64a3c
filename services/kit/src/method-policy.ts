// Which methods are public and which permission each needs is declared once, in the contract
// (option (orderly.auth.v1.policy)), and read here from the descriptor set buf built. A method without a policy is a
// start-up error: access control fails closed.
import { getExtension, hasExtension, type DescExtension, type DescMethod } from "@bufbuild/protobuf";
import { registry } from "@orderly/proto/descriptors";
import type { MethodInfo } from "./context.js";

const policyExtension = registry.getExtension("orderly.auth.v1.policy") as DescExtension;

/** The MethodInfo of every method of a service, keyed by path ("/pkg.Service/Method"). */
export function methodsOf(serviceName: string): Map<string, MethodInfo> {
  const service = registry.getService(serviceName);
  if (!service) throw new Error(`service ${serviceName} is not in the descriptor set; run npm run generate`);
  return new Map(service.methods.map((method) => [pathOf(method), infoOf(method)]));
}

function pathOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function infoOf(method: DescMethod): MethodInfo {
  const options = method.proto.options;
  if (!options || !hasExtension(options, policyExtension)) {
    throw new Error(`${pathOf(method)} declares no (orderly.auth.v1.policy); every Orderly method must`);
  }
  const policy = getExtension(options, policyExtension) as { public: boolean; permission: string };
  if (!policy.public && !policy.permission) {
    throw new Error(`${pathOf(method)}: a non-public policy must name a permission`);
  }
  if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") {
    throw new Error(`${pathOf(method)}: only unary and server-streaming methods are supported`);
  }
  return {
    path: pathOf(method),
    service: method.parent.typeName,
    name: method.name,
    kind: method.methodKind,
    isPublic: policy.public,
    permission: policy.public ? "" : policy.permission,
  };
}
