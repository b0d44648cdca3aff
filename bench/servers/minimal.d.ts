/** Types of bench/servers/minimal.js (plain JavaScript, run by plain `node` in the server child). */
export declare const BENCH_DIGEST: `sha256:${string}`;
export declare function benchResolution<R>(reference: R): Promise<{
  reference: R;
  digest: `sha256:${string}`;
  kind: 'index';
  mediaType: string;
  size: number;
}>;
export type MinimalRecord = (url: string, verdict: string, request: unknown, ms: number) => void;
export declare function minimalAdmission(
  url: string,
  body: Buffer,
  start: number,
  record: MinimalRecord,
): { text: string; after: () => void } | null;
export declare function minimalRecorder(fd: number): MinimalRecord;
/** What the handler touches of a request and a response (node:http's, or stand-ins). */
export interface MinimalRequest {
  url: string;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}
export interface MinimalResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body: string): unknown;
}
export declare function minimalHandler(
  record: MinimalRecord,
): (req: MinimalRequest, res: MinimalResponse) => void;
