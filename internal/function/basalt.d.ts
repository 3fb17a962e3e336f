// Type definitions of the Basalt function API (docs/functions.md).
// Write them next to your function files with `basalt functions types > basalt.d.ts`
// and reference them with `/// <reference path="./basalt.d.ts" />`.

declare namespace basalt {
  /** A record as functions see it: every field but passwords and token keys. */
  interface RecordData {
    id: string;
    collectionId: string;
    collectionName: string;
    [field: string]: any;
  }

  /** An auth record (the caller), or a superuser: {collectionName: "_superusers", id}. */
  type Auth = RecordData;

  /** The event of a record hook. */
  interface RecordEvent {
    /** The collection's name. */
    readonly collection: string;
    readonly action: "create" | "update" | "delete";
    /**
     * The record being written. In a before-hook of create or update, change its
     * fields in place (or assign a new object): each changed field goes through
     * the field's normalization and validation, as client input does.
     */
    record: RecordData;
    /** The stored record before an update; null otherwise. */
    readonly original: RecordData | null;
    /** The caller; null for a guest. */
    readonly auth: Auth | null;
  }

  type Hook = (e: RecordEvent) => void | Promise<void>;

  /** Who a records call runs as. Without either option: a guest (rules applied). */
  interface AsOptions {
    /** Apply the collection's rules as this auth record (such as e.auth or req.auth). */
    auth?: Auth | null;
    /** Skip every rule (superuser access). */
    bypassRules?: boolean;
  }

  interface FindOptions extends AsOptions {
    expand?: string;
  }

  interface ListOptions extends AsOptions {
    filter?: string;
    sort?: string;
    page?: number;
    perPage?: number;
    expand?: string;
    skipTotal?: boolean;
  }

  interface ListResult {
    page: number;
    perPage: number;
    totalItems: number;
    totalPages: number;
    items: RecordData[];
  }

  interface RouteRequest {
    method: string;
    /** The path below /api/fn, e.g. "/hello/world". */
    path: string;
    /** The values of the {parameters} of the route's path. */
    params: Record<string, string>;
    /** The first value of each query parameter. */
    query: Record<string, string>;
    /** The first value of each header; names lower-cased, "-" turned into "_". */
    headers: Record<string, string>;
    /** The body as text (at most 1 MiB). */
    body: string;
    /** The body parsed as JSON (null when empty); a 400 when it is not JSON. */
    json(): any;
    /** The authenticated record; null for a guest. */
    auth: Auth | null;
  }

  interface RouteResponse {
    /** Default 200. */
    status?: number;
    headers?: Record<string, string>;
    /** Sent as application/json. */
    json?: any;
    /** Sent as text/plain unless headers say otherwise. */
    body?: string;
  }

  /** What a route handler returns: a response, or nothing for 204. */
  type RouteHandler = (req: RouteRequest) => RouteResponse | void | Promise<RouteResponse | void>;

  interface RouteOptions {
    /** Who may call the route: anyone (default), any authenticated record, or superusers. */
    auth?: "guest" | "auth" | "superuser";
  }

  interface FetchOptions {
    method?: string;
    headers?: Record<string, string>;
    /** At most 1 MiB. */
    body?: string;
    /** Milliseconds; never more than the server's outbound timeout. */
    timeout?: number;
  }

  interface FetchResponse {
    status: number;
    /** Header names lower-cased, values joined with ", ". */
    headers: Record<string, string>;
    /** At most 4 MiB of text. */
    body: string;
    json(): any;
  }

  interface Mail {
    to: string | string[];
    subject: string;
    html?: string;
    text?: string;
  }

  /** An error with an HTTP status; thrown by the API, and by functions to answer with it. */
  class ApiError extends Error {
    constructor(status: number, message: string, data?: Record<string, any>);
    status: number;
    data: Record<string, any>;
  }

  /** A 400 with per-field problems: {field: "message"} or {field: {code, message}}. */
  class ValidationError extends ApiError {
    constructor(message: string, fields: Record<string, string | { code?: string; message: string }>);
  }

  function beforeCreate(collection: string, fn: Hook): void;
  function afterCreate(collection: string, fn: Hook): void;
  function beforeUpdate(collection: string, fn: Hook): void;
  function afterUpdate(collection: string, fn: Hook): void;
  function beforeDelete(collection: string, fn: Hook): void;
  function afterDelete(collection: string, fn: Hook): void;

  /** Registers a route served at /api/fn + path; path segments may be {parameters}. */
  function route(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS", path: string, fn: RouteHandler, options?: RouteOptions): void;

  /** Runs fn on a cron schedule (five fields or @hourly-style); listed as "fn:" + name in /api/crons. */
  function cron(name: string, schedule: string, fn: () => void | Promise<void>): void;

  /** Handles jobs named name ("fn:" + name in /api/jobs); payload is what jobs.enqueue was given. */
  function job(name: string, fn: (payload: any) => void | Promise<void>): void;

  const records: {
    find(collection: string, id: string, options?: FindOptions): RecordData;
    list(collection: string, options?: ListOptions): ListResult;
    /** Updates the record data.id names, or creates one. Not allowed in before-hooks. */
    save(collection: string, data: Record<string, any>, options?: FindOptions): RecordData;
    /** Not allowed in before-hooks. */
    delete(collection: string, id: string, options?: AsOptions): void;
  };

  namespace http {
    function fetch(url: string, options?: FetchOptions): FetchResponse;
  }

  namespace mail {
    function send(mail: Mail): void;
  }

  namespace jobs {
    /** Queues a job for the basalt.job handler of name. In a before-hook the job joins the write's transaction: it is queued only if the write commits. */
    function enqueue(name: string, payload?: any): void;
  }

  namespace secrets {
    /** The secret's value, or undefined when it is not configured. */
    function get(name: string): string | undefined;
  }

  namespace log {
    function debug(message: string, attrs?: Record<string, any>): void;
    function info(message: string, attrs?: Record<string, any>): void;
    function warn(message: string, attrs?: Record<string, any>): void;
    function error(message: string, attrs?: Record<string, any>): void;
  }
}

declare const console: {
  log(...args: any[]): void;
  info(...args: any[]): void;
  debug(...args: any[]): void;
  warn(...args: any[]): void;
  error(...args: any[]): void;
};
