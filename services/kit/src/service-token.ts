// A service's own identity for calls to other Orderly services (e.g. OrderService -> UserService), chosen over
// forwarding the end user's token so that internal checks need only the narrow "service" role (users:read) and can be
// shared between callers. The token is issued to the service by the identity provider and handed over in the file
// SERVICE_TOKEN_FILE names; the client's tokenFromFile reads it (again when it changes, so rotation needs no restart).
// A service never mints a token itself: whoever holds the signing key could mint an admin one. In development,
// `npm start` writes the file; without it OrderService refuses to start (config.ts requires SERVICE_TOKEN_FILE).

/** The role service identities carry. */
export const SERVICE_ROLE = "service";
