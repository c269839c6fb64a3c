// The baseline: a bare grpc-js server with the generated UserService definition, no interceptors, no auth, no logging
// and no store. GetUser answers from an in-memory Map, or, with BARE_USERS_DB (the seeded users.sqlite), from the same
// SQLite read Orderly's store does (one prepared statement, the row mapped to the message by hand), so the difference
// to Orderly is the kit and the layers, not the database. StreamUsers writes BARE_STREAM_USERS generated users with the
// same backpressure rule as Orderly's kit (wait for "drain" when write() returns false). Both send the exact messages
// Orderly sends for the seeded users (bench/lib/fixture.ts).
import Database from "better-sqlite3";
import {
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from "@grpc/grpc-js";
import type { User } from "@orderly/proto/orderly/user/v1/user";
import {
  UserServiceService,
  type GetUserRequest,
  type GetUserResponse,
  type StreamUsersRequest,
  type StreamUsersResponse,
} from "@orderly/proto/orderly/user/v1/user_service";
import { fixtureUser } from "../lib/fixture.js";

const streamCount = Number(process.env.BARE_STREAM_USERS ?? 1000);
const users = new Map<string, User>();
for (let index = 0; index < Math.min(1000, streamCount); index++) {
  const user = fixtureUser(index);
  users.set(user.id, user);
}

function* allUsers(): Generator<StreamUsersResponse> {
  for (let index = 0; index < streamCount; index++) yield { user: fixtureUser(index) };
}

interface Row {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  avatar_url: string;
  preferences: string;
  create_time: number;
  update_time: number;
  etag: string;
}

/** GetUser's lookup: the SQLite row when BARE_USERS_DB is set, else the in-memory Map. */
function sqliteLookup(path: string): (id: string) => User | undefined {
  const db = new Database(path, { readonly: true });
  const get = db.prepare<[string], Row>(
    "SELECT id, email, first_name, last_name, avatar_url, preferences, create_time, update_time, etag FROM users WHERE id = ?",
  );
  return (id) => {
    const row = get.get(id);
    return (
      row && {
        id: row.id,
        email: row.email,
        profile: {
          firstName: row.first_name,
          lastName: row.last_name,
          avatarUrl: row.avatar_url,
          preferences: JSON.parse(row.preferences) as Record<string, string>,
        },
        createTime: new Date(row.create_time),
        updateTime: new Date(row.update_time),
        etag: row.etag,
      }
    );
  };
}

const databasePath = process.env.BARE_USERS_DB;
const lookup = databasePath ? sqliteLookup(databasePath) : (id: string) => users.get(id);

const server = new Server();
server.addService(UserServiceService, {
  getUser(call: ServerUnaryCall<GetUserRequest, GetUserResponse>, callback: sendUnaryData<GetUserResponse>) {
    const user = lookup(call.request.id);
    if (user) callback(null, { user });
    else callback({ code: status.NOT_FOUND, details: "no such user" });
  },
  streamUsers(call: ServerWritableStream<StreamUsersRequest, StreamUsersResponse>) {
    const messages = allUsers();
    const pump = () => {
      for (let next = messages.next(); !next.done; next = messages.next()) {
        if (call.cancelled) return;
        if (!call.write(next.value)) return void call.once("drain", pump);
      }
      call.end();
    };
    pump();
  },
});

server.bindAsync(process.env.BARE_ADDRESS ?? "127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  // The same readiness line Orderly's processes log, so the runner starts both the same way.
  process.stdout.write(`${JSON.stringify({ msg: "listening", port })}\n`);
});
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
