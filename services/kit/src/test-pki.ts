// A throwaway certificate authority for tests, made with the `openssl` command line (Debian's openssl package; CI's
// .ci/setup installs it when missing): a CA, and server or client certificates it signs, with the names TLS checks
// (DNS/IP SANs for servers, a SPIFFE URI SAN or a CN for clients). P-256 keys, valid for a day, files in a temporary
// directory. Chosen over a JavaScript X.509 library: openssl is what operators use to make and inspect these files.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its key, as files and as PEM bytes. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** What a certificate names: its CN, and the SANs servers and clients are checked against. */
export interface CertificateNames {
  cn: string;
  /** DNS names (a server's host names). */
  dns?: readonly string[];
  /** IP addresses (a server reached by address). */
  ip?: readonly string[];
  /** URI SANs, e.g. a SPIFFE ID (a client's identity). */
  uri?: readonly string[];
}

/** A test CA: its certificate, and a way to issue certificates it signs. */
export interface TestPki {
  dir: string;
  caFile: string;
  ca: Buffer;
  /** A certificate for TLS servers and clients alike (serverAuth and clientAuth). */
  issue(names: CertificateNames): TestCertificate;
}

const openssl = (dir: string, args: readonly string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes a fresh CA in a temporary directory. */
export function createTestPki(caName = "Orderly Test CA"): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "orderly-pki-"));
  openssl(dir, [
    ...["req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", `/CN=${caName}`],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  let serial = 0;
  return {
    dir,
    caFile: join(dir, "ca.crt"),
    ca: readFileSync(join(dir, "ca.crt")),
    issue(names) {
      const base = `leaf-${++serial}`;
      const sans = [
        ...(names.dns ?? []).map((n) => `DNS:${n}`),
        ...(names.ip ?? []).map((n) => `IP:${n}`),
        ...(names.uri ?? []).map((n) => `URI:${n}`),
      ];
      const extensions = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth,clientAuth",
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
      ];
      writeFileSync(join(dir, `${base}.ext`), `${extensions.join("\n")}\n`);
      openssl(dir, [
        "req",
        "-new",
        ...EC_KEY,
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${names.cn}`,
      ]);
      openssl(dir, [
        ...["x509", "-req", "-in", `${base}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
        ...["-out", `${base}.crt`, "-days", "1", "-extfile", `${base}.ext`],
      ]);
      const certFile = join(dir, `${base}.crt`);
      const keyFile = join(dir, `${base}.key`);
      return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
    },
  };
}
