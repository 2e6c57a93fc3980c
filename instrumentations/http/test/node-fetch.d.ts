/** The part of node-fetch v2 the tests use (@types/node-fetch is not installed in this workspace). */
declare module 'node-fetch' {
  interface Response {
    status: number;
    json(): Promise<unknown>;
    text(): Promise<string>;
  }
  interface RequestInit {
    method?: string;
    body?: string | Buffer | NodeJS.ReadableStream;
    headers?: Record<string, string>;
  }
  export class FetchError extends Error {
    type: string;
    code?: string;
    errno?: string;
  }
  export default function fetch(url: string, init?: RequestInit): Promise<Response>;
}
