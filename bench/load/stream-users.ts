// Load: one StreamUsers call read to the end with the generated grpc-js client (the same code for Orderly and the bare
// server), counting messages. Reports messages/s and this client's own CPU, which shows when the reader is the limit.
import { credentials, Metadata } from "@grpc/grpc-js";
import { UserServiceClient } from "@orderly/proto/orderly/user/v1/user_service";
import { finish, loadConfig, mark, runMain } from "./protocol.js";

interface Config {
  address: string;
  token: string;
  expected: number;
}

/** What one stream run measured. */
export interface StreamUsersResult {
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  firstId: string;
  lastId: string;
  clientCpuPercent: number;
}

runMain(async () => {
  const config = loadConfig() as Config;
  const client = new UserServiceClient(config.address, credentials.createInsecure());
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())),
  );
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${config.token}`);
  let messages = 0;
  let firstId = "";
  let lastId = "";
  mark("start");
  const cpu = process.cpuUsage();
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const call = client.streamUsers({ filter: { emailContains: "" } }, metadata);
    call.on("data", (message: { user?: { id: string } }) => {
      if (messages === 0) firstId = message.user?.id ?? "";
      lastId = message.user?.id ?? "";
      messages++;
    });
    call.on("error", reject);
    call.on("end", resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  mark("end");
  client.close();
  if (messages !== config.expected)
    throw new Error(`StreamUsers sent ${messages} messages, expected ${config.expected}`);
  const result: StreamUsersResult = {
    messages,
    seconds,
    messagesPerSecond: messages / seconds,
    firstId,
    lastId,
    clientCpuPercent: ((used.user + used.system) / 1e6 / seconds) * 100,
  };
  finish(result);
});
