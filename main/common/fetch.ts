/**
 * All network I/O goes through one injectable fetch, so the Electron app can hand in
 * Chromium's network stack (system proxy, OS certificate store) and tests a shaped one.
 * Here in main/common because auth, credentials, sources and app all take one.
 */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
