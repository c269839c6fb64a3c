// TLS and mutual TLS: the server's credentials from the TLS_* settings, and who a client certificate says its caller
// is. A certificate is only trusted for what TLS_PEER_ROLES grants its identity (a SPIFFE ID such as
// spiffe://orderly/orders in a URI SAN, else the subject's CN), the way a service token's roles are: the caller is
// { subject: identity, roles }, and the contract's permissions apply unchanged. A bearer token, when a call carries
// one, decides the caller instead: a proxy or a service holding a certificate may act for a user.
import { readFileSync } from "node:fs";
import { createSecureContext, type PeerCertificate } from "node:tls";
import { experimental, ServerCredentials, type ChannelCredentials } from "@grpc/grpc-js";
import type { Config } from "./config.js";

/** The TLS settings this file reads. */
export type TlsSettings = Pick<
  Config,
  "TLS_CERT_FILE" | "TLS_KEY_FILE" | "TLS_CA_FILE" | "TLS_CLIENT_AUTH" | "TLS_PEER_ROLES" | "TLS_RELOAD_MS"
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
export function serverCredentialsOf(settings: TlsSettings, onReload?: ReloadListener): ServerCredentials {
  if (!settings.TLS_CERT_FILE || !settings.TLS_KEY_FILE) return ServerCredentials.createInsecure();
  if (settings.TLS_CLIENT_AUTH !== "none" && !settings.TLS_CA_FILE)
    throw new Error(`TLS_CLIENT_AUTH ${settings.TLS_CLIENT_AUTH} needs TLS_CA_FILE`);
  const files = new CertificateFiles(
    {
      cert: { setting: "TLS_CERT_FILE", path: settings.TLS_CERT_FILE },
      key: { setting: "TLS_KEY_FILE", path: settings.TLS_KEY_FILE },
      ...(settings.TLS_CA_FILE ? { ca: { setting: "TLS_CA_FILE", path: settings.TLS_CA_FILE } } : {}),
    },
    settings.TLS_RELOAD_MS,
    onReload,
  );
  // grpc-js's certificate-provider credentials, not createSsl: they take new certificates while serving, and they
  // can ask for a client certificate without requiring one (`request`: requestCert, rejectUnauthorized false; Node
  // still verifies one that is sent, and grpc-js reports only verified ones, so an unverified one is no identity).
  return experimental.createCertificateProviderServerCredentials(
    files,
    settings.TLS_CLIENT_AUTH === "none" ? null : files,
    settings.TLS_CLIENT_AUTH === "require",
  );
}

/**
 * Client credentials from PEM files (e.g. OrderService's USERS_TLS_*), read again every `reloadMs` like a server's:
 * the server's certificate must chain to `ca`; `cert` and `key`, when given, are this client's (mTLS).
 */
export function clientCredentialsOf(
  files: { ca: PemFile; cert?: PemFile | undefined; key?: PemFile | undefined },
  reloadMs: number,
  onReload?: ReloadListener,
): ChannelCredentials {
  const provider = new CertificateFiles(files, reloadMs, onReload);
  return experimental.createCertificateProviderChannelCredentials(provider, files.cert ? provider : null);
}

/** One PEM file, and the setting that names it (for error messages). */
export interface PemFile {
  setting: string;
  path: string;
}

/** Told after each reload that found the files changed: without an error, the new set is served; with one, not. */
export type ReloadListener = (error?: Error) => void;

interface Loaded {
  identity: experimental.IdentityCertificateUpdate | undefined;
  ca: experimental.CaCertificateUpdate | undefined;
  /** The files' bytes, to see whether anything changed. */
  text: string;
}

/**
 * The TLS files as a grpc-js certificate provider: read at once (a missing file fails the start, naming its setting),
 * then again every `reloadMs` while a server uses them (0: never), so a rotated certificate (cert-manager, a SPIFFE
 * agent) is served without a restart. A new set is handed over only once it loads as a TLS context: a certificate
 * written before its key, say, leaves the old pair in use until the next reload finds both.
 */
class CertificateFiles implements experimental.CertificateProvider {
  private loaded: Loaded;
  private refused = "";
  private timer: NodeJS.Timeout | undefined;
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();

  constructor(
    private readonly files: { cert?: PemFile | undefined; key?: PemFile | undefined; ca?: PemFile | undefined },
    private readonly reloadMs: number,
    private readonly onReload: ReloadListener | undefined,
  ) {
    this.loaded = this.read();
  }

  // grpc-js adds its listeners before it watches for their updates; the next tick reaches both.
  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.catchUp();
    this.caListeners.add(listener);
    process.nextTick(listener, this.loaded.ca ?? null);
    this.watch();
  }
  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
    this.watch();
  }
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.catchUp();
    this.identityListeners.add(listener);
    process.nextTick(listener, this.loaded.identity ?? null);
    this.watch();
  }
  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
    this.watch();
  }

  /** Nobody listened, so nothing was reloaded: a new listener gets the files as they are now. */
  private catchUp(): void {
    if (this.reloadMs > 0 && this.caListeners.size + this.identityListeners.size === 0) this.reload();
  }

  /** Reloads while anyone listens. */
  private watch(): void {
    const listened = this.caListeners.size + this.identityListeners.size > 0;
    if (listened && !this.timer && this.reloadMs > 0) {
      this.timer = setInterval(() => this.reload(), this.reloadMs).unref();
    } else if (!listened && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private reload(): void {
    const onDisk = [this.files.cert, this.files.key, this.files.ca]
      .map((file) => (file ? readOrEmpty(file.path) : ""))
      .join("\0");
    // Unchanged, or the set already refused (reported once per change, not once per reload).
    if (onDisk === this.loaded.text || onDisk === this.refused) return;
    let next: Loaded;
    try {
      next = this.read();
    } catch (error) {
      this.refused = onDisk;
      this.onReload?.(error as Error);
      return;
    }
    this.loaded = next;
    for (const listener of this.identityListeners) listener(next.identity ?? null);
    for (const listener of this.caListeners) listener(next.ca ?? null);
    this.onReload?.();
  }

  private read(): Loaded {
    const { cert, key, ca } = this.files;
    const pem = (file: PemFile | undefined) => (file ? readPem(file.setting, file.path) : undefined);
    const [certificate, privateKey, caCertificate] = [pem(cert), pem(key), pem(ca)];
    if (Boolean(certificate) !== Boolean(privateKey)) throw new Error("a certificate needs its key");
    try {
      createSecureContext({ cert: certificate, key: privateKey, ca: caCertificate });
    } catch (error) {
      const what = [cert, key, ca].flatMap((file) => (file ? [file.setting] : [])).join(", ");
      throw new Error(`${what}: not a usable certificate and key: ${(error as Error).message}`, { cause: error });
    }
    return {
      identity: certificate && privateKey ? { certificate, privateKey } : undefined,
      ca: caCertificate ? { caCertificate } : undefined,
      text: [certificate, privateKey, caCertificate].map((bytes) => bytes?.toString() ?? "").join("\0"),
    };
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
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
