// `npm run token`: prints one development token and nothing else, so `TOKEN=$(npm run --silent token)` works. This
// file is an entry point only (it runs when loaded); services never import it. `npm start` uses its bundle,
// dist/dev-token.mjs, to give OrderService a development service token through SERVICE_TOKEN_FILE.
import { devTokenFromArgs } from "./dev-token.js";

try {
  process.stdout.write(`${await devTokenFromArgs(process.argv.slice(2))}\n`);
} catch (error) {
  process.stderr.write(`dev-token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write("usage: npm run --silent token -- [--sub dev-admin] [--roles admin,support] [--ttl 3600]\n");
  process.exitCode = 2;
}
