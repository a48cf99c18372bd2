/**
 * The pages' only way to the service: its documented HTTP API, form-encoded as field clients send
 * it. Methods take absolute URLs, made with `at` or `resolve`. Errors come back as `ApiError` with
 * the GMS `exception` name and any `Retry-After`.
 */
export class ApiError extends Error {
  constructor(
    /** 0 when the request never got an answer (network down, CORS refused). */
    readonly status: number,
    readonly exception: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export type Fields = Readonly<Record<string, string>>;

/**
 * Where the API lives, as an absolute URL without a trailing slash: the path prefix the server
 * wrote into the page (`/<stage>` when deployed on API Gateway's default endpoint), on the page's
 * own origin. A page that lets `?api=` name another API (the widget does; the console, which holds
 * a key, does not) follows it only to an origin the server listed in the page (the stage's
 * PAGE_API_ORIGINS): any other value is ignored, so no link can send what a customer types elsewhere.
 */
export function apiBase(options: { readonly fromQuery: boolean }): string {
  const served = new URL(`${meta("gms-api-base")}/`, location.href);
  const named = options.fromQuery ? absoluteUrl(new URLSearchParams(location.search).get("api")) : undefined;
  const allowed = meta("gms-api-origins").split(" ").filter(Boolean);
  const api = named !== undefined && allowed.includes(named.origin) ? named : served;
  return `${api.origin}${api.pathname}`.replace(/\/+$/, "");
}

function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? "";
}

function absoluteUrl(text: string | null): URL | undefined {
  try {
    return text ? new URL(text) : undefined;
  } catch {
    return undefined;
  }
}

export class Api {
  constructor(
    private readonly base: string,
    private readonly headers: () => Fields = () => ({}),
  ) {}

  /** An API path (`/genesys/1/...`) under the API's base. */
  at(path: string): string {
    return `${this.base}${path}`;
  }

  /** A server-relative URL the API handed out (the create-URL): it already carries any path prefix. */
  resolve(handedOut: string): string {
    return new URL(handedOut, this.base).href;
  }

  // Each request takes an optional AbortSignal: once it is aborted, the request rejects with an
  // AbortError (see `isAborted`), never with an ApiError, and an answer that comes in late is dropped.

  get<T = unknown>(url: string, query: Fields = {}, signal?: AbortSignal): Promise<T> {
    const search = new URLSearchParams(query).toString();
    return this.call<T>("GET", search ? `${url}?${search}` : url, signal);
  }

  post<T = unknown>(url: string, fields: Fields = {}, headers: Fields = {}, signal?: AbortSignal): Promise<T> {
    return this.call<T>("POST", url, signal, fields, headers);
  }

  put<T = unknown>(url: string, fields: Fields = {}, signal?: AbortSignal): Promise<T> {
    return this.call<T>("PUT", url, signal, fields);
  }

  /**
   * For the page's last words (going not ready as the tab closes, signing out): the browser sends
   * it after the page is gone, and nothing aborts it. Settles once answered or failed.
   */
  whileLeaving(method: "PUT" | "POST", url: string, fields: Fields = {}): Promise<void> {
    return fetch(url, { method, body: new URLSearchParams(fields), headers: this.headers(), keepalive: true }).then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * One call. A successful answer is what the API documents for it (openapi.yaml, whose test holds
   * the service to it), typed by the caller from the service's own view types.
   */
  private async call<T>(method: string, url: string, signal: AbortSignal | undefined, fields?: Fields, headers: Fields = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { ...this.headers(), ...headers },
        signal: signal ?? null,
        ...(fields === undefined ? {} : { body: new URLSearchParams(fields) }),
      });
    } catch {
      signal?.throwIfAborted();
      throw new ApiError(0, "NetworkError", "The service could not be reached");
    }
    const text = await response.text();
    // The answer may have been read just before the abort but not yet handed over: it is dropped too.
    signal?.throwIfAborted();
    let body: unknown = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      // A proxy's HTML error page: keep the status.
    }
    if (response.ok) return body as T;
    const error: { message?: unknown; exception?: unknown } = body !== null && typeof body === "object" ? body : {};
    const retryAfter = Number(response.headers.get("retry-after"));
    throw new ApiError(
      response.status,
      typeof error.exception === "string" ? error.exception : `Http${response.status}`,
      typeof error.message === "string" ? error.message : `The service answered ${response.status}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }
}

/** A request the page aborted itself (it moved on): nothing to report, nothing to do. */
export function isAborted(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/**
 * This tab's session storage, which every value a page keeps goes through. Where the browser
 * refuses storage (a frame on another site while third-party cookies are blocked: even reading
 * `sessionStorage` throws), the values are kept in memory instead: the page works the same, and a
 * reload starts over.
 */
const tabStorage: Pick<Storage, "getItem" | "setItem" | "removeItem"> = (() => {
  const probe = "gms:probe";
  try {
    const storage = sessionStorage;
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return storage;
  } catch {
    const memory = new Map<string, string>();
    return {
      getItem: (key) => memory.get(key) ?? null,
      setItem: (key, value) => void memory.set(key, value),
      removeItem: (key) => void memory.delete(key),
    };
  }
})();

/** A value this tab keeps (JSON), or undefined. */
export function stored<T>(key: string): T | undefined {
  try {
    return JSON.parse(tabStorage.getItem(key) ?? "null") ?? undefined;
  } catch {
    return undefined;
  }
}

/** Keeps a value for this tab; undefined removes it. */
export function store(key: string, value: unknown): void {
  if (value === undefined) tabStorage.removeItem(key);
  else tabStorage.setItem(key, JSON.stringify(value));
}

/** "Could not <doing>: <reason>", for a status line. */
export function failed(doing: string, error: unknown): string {
  return `Could not ${doing}: ${error instanceof Error ? error.message : "unknown error"}`;
}

/** A stable random id for this tab, e.g. the `gms_user` header web clients send. */
export function tabValue(key: string, make: () => string = () => crypto.randomUUID()): string {
  let value = tabStorage.getItem(key);
  if (value === null) {
    value = make();
    tabStorage.setItem(key, value);
  }
  return value;
}

/**
 * Text someone typed (a name, a subject), to place among other words: isolated, so that
 * right-to-left letters or bidi controls in it cannot reorder the words around it.
 */
export function isolated(text: string): HTMLElement {
  const element = document.createElement("bdi");
  element.textContent = text;
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from the page`);
  return element as T;
}
