// TLS and mutual TLS: the server's credentials from the TLS_* settings, and who a client certificate says its caller
// is. A certificate is only trusted for what TLS_PEER_ROLES grants its identity (a SPIFFE ID such as
// spiffe://orderly/orders in a URI SAN, else the subject's CN), the way a service token's roles are: the caller is
// { subject: identity, roles }, and the contract's permissions apply unchanged. A bearer token, when a call carries
// one, decides the caller instead: a proxy or a service holding a certificate may act for a user.
import { readFileSync } from "node:fs";
import type { PeerCertificate } from "node:tls";
import { experimental, ServerCredentials } from "@grpc/grpc-js";
import type { Config } from "./config.js";

/** The TLS settings this file reads. */
export type TlsSettings = Pick<
  Config,
  "TLS_CERT_FILE" | "TLS_KEY_FILE" | "TLS_CA_FILE" | "TLS_CLIENT_AUTH" | "TLS_PEER_ROLES"
>;

/** Reads a PEM file a setting names; the error names the setting. */
export function readPem(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${setting}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** The server's credentials: plaintext without TLS_CERT_FILE, else TLS, asking for client certificates as told. */
export function serverCredentialsOf(settings: TlsSettings): ServerCredentials {
  if (!settings.TLS_CERT_FILE || !settings.TLS_KEY_FILE) return ServerCredentials.createInsecure();
  const certificate = readPem("TLS_CERT_FILE", settings.TLS_CERT_FILE);
  const privateKey = readPem("TLS_KEY_FILE", settings.TLS_KEY_FILE);
  const ca = settings.TLS_CA_FILE ? readPem("TLS_CA_FILE", settings.TLS_CA_FILE) : null;
  const pair = [{ cert_chain: certificate, private_key: privateKey }];
  switch (settings.TLS_CLIENT_AUTH) {
    case "none":
      return ServerCredentials.createSsl(null, pair, false);
    case "require":
      return ServerCredentials.createSsl(requiredCa(ca), pair, true);
    case "request":
      // createSsl cannot ask for a certificate without requiring it; grpc-js's certificate-provider credentials
      // can (requestCert with rejectUnauthorized false). Node then verifies a certificate that is sent, and grpc-js
      // reports only verified ones (getAuthContext), so an unverified one is simply no identity.
      return experimental.createCertificateProviderServerCredentials(
        new FixedCertificates({ certificate, privateKey }),
        new FixedCertificates(undefined, requiredCa(ca)),
        false,
      );
  }
}

function requiredCa(ca: Buffer | null): Buffer {
  if (!ca) throw new Error("TLS_CLIENT_AUTH needs TLS_CA_FILE");
  return ca;
}

/** Certificates read once, handed to grpc-js's listeners as a certificate provider. */
class FixedCertificates implements experimental.CertificateProvider {
  constructor(
    private readonly identity?: { certificate: Buffer; privateKey: Buffer },
    private readonly ca?: Buffer,
  ) {}
  // grpc-js registers its listeners before it watches for updates; a later tick reaches both.
  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    if (this.ca) process.nextTick(listener, { caCertificate: this.ca });
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    if (this.identity) process.nextTick(listener, this.identity);
  }
  removeIdentityCertificateListener(): void {}
}

/** The identity a certificate names: its first URI SAN (a SPIFFE ID), else its subject's CN. */
export function certificateIdentity(certificate: PeerCertificate): string | undefined {
  for (const name of (certificate.subjectaltname ?? "").split(/,\s*/))
    if (name.startsWith("URI:")) return name.slice(4);
  // Node types CN as a string, but a subject with two CNs gives an array.
  const cn: unknown = certificate.subject.CN;
  const first: unknown = Array.isArray(cn) ? cn[0] : cn;
  return typeof first === "string" ? first : undefined;
}

/** Identity -> roles, from TLS_PEER_ROLES ("spiffe://orderly/orders=service", roles joined with "+"). */
export type PeerRoles = ReadonlyMap<string, readonly string[]>;

/** TLS_PEER_ROLES as a map. */
export function peerRolesOf(entries: readonly string[] | undefined): PeerRoles {
  const roles = new Map<string, string[]>();
  for (const entry of entries ?? []) {
    const at = entry.lastIndexOf("=");
    roles.set(entry.slice(0, at), entry.slice(at + 1).split("+"));
  }
  return roles;
}
