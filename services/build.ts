// `npm run build`: each service's main.ts bundled with esbuild into dist/<service>.mjs, so production runs plain `node`
// (npm start) without tsx's loader thread (about 30 MB of RSS) or on-the-fly compilation. What a service imports only
// when a setting asks for it (dynamic imports: the PostgreSQL store, metrics, tracing) goes into dist/chunks/ and is
// loaded then. Our own workspace packages (@orderly/*) are bundled; every other package stays external and loads from
// node_modules, so native and file-reading modules (better-sqlite3, grpc-health-check's proto files) work as
// installed. The descriptor set the services read is copied beside the bundles.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";

/** The services `npm run build` bundles, as dist/<name>.mjs. */
export const SERVICES = ["users", "orders"] as const;

/** The development token CLI, bundled apart from the services (which never mint): `npm start` runs it. */
export const DEV_TOKEN_ENTRY = "services/kit/src/dev-token-cli.ts";

const externalPackages: Plugin = {
  name: "external-packages",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@orderly/") ? undefined : { path: args.path, external: true },
    );
  },
};

/** Bundles one TypeScript entry point into an ESM file runnable by plain node, with the descriptor set beside it. */
export async function bundle(entry: string, outfile: string): Promise<void> {
  mkdirSync(join(dirname(outfile), "gen"), { recursive: true });
  copyFileSync("proto/gen/orderly.binpb", join(dirname(outfile), "gen", "orderly.binpb"));
  await build({
    // Split, so each dynamic import lands in a chunk of its own, loaded at that import, not at start.
    entryPoints: { [basename(outfile, ".mjs")]: entry },
    outdir: dirname(outfile),
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    plugins: [externalPackages],
    logLevel: "warning",
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // Chunk names carry a content hash: clear the last build's, which nothing loads any more.
  rmSync("dist/chunks", { recursive: true, force: true });
  await Promise.all([
    ...SERVICES.map((service) => bundle(`services/${service}/src/main.ts`, `dist/${service}.mjs`)),
    bundle(DEV_TOKEN_ENTRY, "dist/dev-token.mjs"),
  ]);
  console.log(`built ${[...SERVICES, "dev-token"].map((s) => `dist/${s}.mjs`).join(", ")}`);
}
