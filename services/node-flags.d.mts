/** See node-flags.mjs. */
export declare const SERVICE_NODE_FLAGS: readonly string[];
/** See node-flags.mjs. */
export declare const USERS_NODE_FLAGS: readonly string[];
/** See node-flags.mjs. */
export declare function nodeFlagsOf(service: string): readonly string[];
