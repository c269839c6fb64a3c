// The shape rules that keep Orderly's layers apart, checked on the source: domain code imports nothing of gRPC,
// the generated contract, or the server kit beyond its plain-TypeScript domain part; services never import each other.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

function importsOf(path: string): string[] {
  return [...readFileSync(path, "utf8").matchAll(/(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

const services = readdirSync("services").filter((name) => !["kit", "storage"].includes(name) && statSync(join("services", name)).isDirectory());

describe("architecture", () => {
  for (const service of services) {
    it(`services/${service}/src/domain imports no gRPC, no generated code, no kit beyond @orderly/kit/domain`, () => {
      const offenders = sources(`services/${service}/src/domain`).flatMap((file) =>
        importsOf(file)
          .filter((spec) => /^@grpc\//.test(spec) || spec.startsWith("@orderly/proto") || spec === "@orderly/kit" || spec.startsWith("@orderly/clients") || spec.includes("/grpc/"))
          .map((spec) => `${file}: ${spec}`),
      );
      expect(offenders).toEqual([]);
    });

    it(`services/${service} imports no other service`, () => {
      const others = services.filter((s) => s !== service).map((s) => `@orderly/${s}`);
      const offenders = sources(`services/${service}/src`).flatMap((file) =>
        importsOf(file).filter((spec) => others.includes(spec) || spec.includes(`services/`)).map((spec) => `${file}: ${spec}`),
      );
      expect(offenders).toEqual([]);
    });
  }

  it("the kit's domain part imports nothing but itself", () => {
    const offenders = sources("services/kit/src/domain").flatMap((file) => importsOf(file).filter((spec) => !spec.startsWith("./")));
    expect(offenders).toEqual([]);
  });
});
