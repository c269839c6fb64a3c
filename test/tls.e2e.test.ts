// Both services as processes (the bundles `npm start` runs) with TLS everywhere, as the README's "TLS and mTLS" runs
// them: UserService requires client certificates (TLS_CLIENT_AUTH=require) and knows OrderService by its SPIFFE ID
// (TLS_PEER_ROLES); OrderService serves TLS and calls UserService over mTLS with its own certificate and no token
// file (USERS_TLS_*). The typed clients connect with `tls: { ca, cert, key }`. Certificates come from a test CA.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createOrderClient, createUserClient, type OrderClient, type UserClient } from "@orderly/clients";
import { createTestPki, failureOf, testToken, type TestCertificate, type TestPki } from "@orderly/kit/testing";
import { bundle } from "../services/build.js";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

const ORDERS_ID = "spiffe://orderly/orders";
const USERS_NAME = "users.orderly.test";
let dist: string;
let pki: TestPki;
let adminCert: TestCertificate;
let users: ServiceProcess;
let orders: ServiceProcess;
let userAdmin: UserClient;
let orderAdmin: OrderClient;
let token: string;

beforeAll(async () => {
  mkdirSync("dist", { recursive: true });
  dist = mkdtempSync(join("dist", "tls-"));
  await Promise.all(["users", "orders"].map((s) => bundle(`services/${s}/src/main.ts`, join(dist, `${s}.mjs`))));
  pki = createTestPki();
  // UserService's certificate names only its DNS name: its clients dial 127.0.0.1 and check that name instead.
  const usersCert = pki.issue({ cn: "users", dns: [USERS_NAME] });
  const ordersServerCert = pki.issue({ cn: "orders-server", dns: ["localhost"], ip: ["127.0.0.1"] });
  const ordersClientCert = pki.issue({ cn: "orders", uri: [ORDERS_ID] });
  adminCert = pki.issue({ cn: "ops-console", uri: ["spiffe://orderly/ops-console"] });
  const dataDir = tempDataDir();
  const auth = await testAuthEnv();
  users = await startServiceProcess(join(dist, "users.mjs"), {
    ...auth,
    USERS_ADDRESS: "127.0.0.1:0",
    DATA_DIR: dataDir,
    TLS_CERT_FILE: usersCert.certFile,
    TLS_KEY_FILE: usersCert.keyFile,
    TLS_CA_FILE: pki.caFile,
    TLS_CLIENT_AUTH: "require",
    TLS_PEER_ROLES: `${ORDERS_ID}=service`,
  });
  orders = await startServiceProcess(join(dist, "orders.mjs"), {
    ...auth,
    SERVICE_TOKEN_FILE: "", // its identity is its certificate
    ORDERS_ADDRESS: "127.0.0.1:0",
    DATA_DIR: dataDir,
    TLS_CERT_FILE: ordersServerCert.certFile,
    TLS_KEY_FILE: ordersServerCert.keyFile,
    USERS_TARGET: users.address,
    USERS_TLS_CA_FILE: pki.caFile,
    USERS_TLS_CERT_FILE: ordersClientCert.certFile,
    USERS_TLS_KEY_FILE: ordersClientCert.keyFile,
    USERS_TLS_SERVER_NAME: USERS_NAME,
  });
  token = await testToken("adm_tls", ["admin"]);
  userAdmin = createUserClient({
    address: users.address,
    token,
    tls: { ca: pki.ca, cert: adminCert.cert, key: adminCert.key, serverName: USERS_NAME },
  });
  orderAdmin = createOrderClient({ address: orders.address, token, tls: { ca: pki.ca } });
});

afterAll(async () => {
  userAdmin?.close();
  orderAdmin?.close();
  await orders?.stop();
  await users?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe("both services with TLS and mTLS", () => {
  it("creates an order: OrderService checks the user over mTLS as spiffe://orderly/orders, without a token", async () => {
    const ada = await userAdmin.create({ email: "ada@example.com" });
    const order = await orderAdmin.create({
      userId: ada.id,
      items: [{ sku: "TLS-1", quantity: 1, unitPriceMinor: 100n }],
      currencyCode: "USD",
      shippingAddress: { recipient: "Ada", line1: "1 Road", city: "London", postalCode: "N1", countryCode: "GB" },
    });
    expect(order.userId).toBe(ada.id);
    expect(users.logs.find((l) => l.msg === "listening")?.tls).toEqual({ clientAuth: "require" });
    const check = users.logs.find((l) => l.method === "/orderly.user.v1.UserService/GetUser" && l.code === "OK");
    expect(check?.caller).toBe(ORDERS_ID);
  });

  it("refuses plaintext clients on both services", async () => {
    const plainOrders = createOrderClient({ address: orders.address, token, retry: false });
    const plainUsers = createUserClient({ address: users.address, token, retry: false });
    expect((await failureOf(plainOrders.list({}, { deadlineMs: 5_000 }))).code).toBe(Code.UNAVAILABLE);
    expect((await failureOf(plainUsers.get("usr_1", { deadlineMs: 5_000 }))).code).toBe(Code.UNAVAILABLE);
    plainOrders.close();
    plainUsers.close();
  });

  it("refuses a client that checks another name than the certificate's (here, the address dialled)", async () => {
    const tls = { ca: pki.ca, cert: adminCert.cert, key: adminCert.key };
    const byAddress = createUserClient({ address: users.address, token, tls, retry: false });
    expect((await failureOf(byAddress.get("usr_1", { deadlineMs: 5_000 }))).code).toBe(Code.UNAVAILABLE);
    byAddress.close();
  });

  it("refuses a client without a certificate at UserService (require), even with an admin token", async () => {
    const tls = { ca: pki.ca, serverName: USERS_NAME };
    const noCert = createUserClient({ address: users.address, token, tls, retry: false });
    expect((await failureOf(noCert.get("usr_1", { deadlineMs: 5_000 }))).code).toBe(Code.UNAVAILABLE);
    noCert.close();
  });

  it("refuses a client that trusts another CA", async () => {
    const other = createTestPki("Another CA");
    const wrongCa = createOrderClient({ address: orders.address, token, tls: { ca: other.ca }, retry: false });
    expect((await failureOf(wrongCa.list({}, { deadlineMs: 5_000 }))).code).toBe(Code.UNAVAILABLE);
    wrongCa.close();
  });
});
