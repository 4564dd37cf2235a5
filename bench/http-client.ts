// A minimal HTTP/1.1 keep-alive client over one node:net socket, for the registration load in
// bench/run.ts. Why not node:http: the load generator runs on the same cores as the service,
// Postgres and argon2, so every millisecond of CPU it burns is taken from the hashing being
// measured. At the bench's rate node:http (agent, request and response objects, header objects)
// cost 1.1-1.6 ms of CPU per registration (two requests); this client 0.3-0.5 ms, of which much is
// the kernel's and the event loop's share of waking up twice (bench/run.ts prints the figure).
// It handles only what the service sends: one request in flight per socket, a response with a
// Content-Length body. Anything else (chunked encoding, a response without Content-Length, bytes
// after the body, a malformed status line, a connection closed mid-response) rejects the request
// rather than being guessed at, so a figure is never built on a misread response.
import { connect, type Socket } from 'node:net';

export interface Response {
  status: number;
  body: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

export class HttpClient {
  private socket: Socket | undefined;
  private pending: { resolve: (r: Response) => void; reject: (e: Error) => void } | undefined;
  /** Bytes received for the response in progress (usually one chunk, so no copying). */
  private chunks: Buffer[] = [];
  private received = 0;
  /** Once the head is parsed: where the body starts in the joined bytes, and its length. */
  private bodyStart = -1;
  private bodyLength = 0;
  private status = 0;
  private closeAfter = false;
  /** A failure seen with no request in flight (stray bytes): the next request reports it. */
  private broken: Error | undefined;

  constructor(
    private readonly port: number,
    private readonly host = '127.0.0.1',
  ) {}

  /**
   * Builds a request head once, up to and including the Content-Length name, so each request
   * only appends the length and the body. Extra headers are given as complete lines.
   */
  static head(method: string, path: string, host: string, port: number, headers: string[] = []): string {
    return `${method} ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: `;
  }

  /** Sends `head` (from HttpClient.head) with `body`, and resolves with the status and body. */
  request(head: string, body = ''): Promise<Response> {
    if (this.pending) return Promise.reject(new Error('HttpClient: one request at a time per client'));
    if (this.broken) return Promise.reject(this.broken);
    const socket = this.socket ?? this.open();
    return new Promise<Response>((resolve, reject) => {
      this.pending = { resolve, reject };
      socket.write(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect({ port: this.port, host: this.host, noDelay: true });
    // Events of a socket already dropped (after Connection: close or a failure) are ignored.
    socket.on('data', (chunk: Buffer) => this.socket === socket && this.onData(chunk));
    socket.on('error', (e) => this.socket === socket && this.fail(e));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      // Closed between requests (the server's keep-alive timeout) is normal: the next request
      // reconnects. Closed with a request in flight is a failure.
      if (this.pending) this.fail(new Error('HttpClient: connection closed before the response was complete'));
    });
    this.socket = socket;
    return socket;
  }

  private onData(chunk: Buffer): void {
    if (!this.pending) return void this.fail(new Error(`HttpClient: ${chunk.length} bytes received with no request in flight`));
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.bodyStart < 0 && !this.parseHead()) return;
    const end = this.bodyStart + this.bodyLength;
    if (this.received < end) return;
    if (this.received > end) return void this.fail(new Error(`HttpClient: ${this.received - end} unexpected bytes after the response body`));
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received);
    const response = { status: this.status, body: all.subarray(this.bodyStart, end) };
    const { resolve } = this.pending;
    if (this.closeAfter) this.close();
    this.reset();
    resolve(response);
  }

  /**
   * Parses the status line and the headers it needs once the head is complete; false until then,
   * or after a failure (reported through fail: throwing here would escape the socket's handler).
   */
  private parseHead(): boolean {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.received)];
    const buf = this.chunks[0]!;
    const headEnd = buf.indexOf(CRLFCRLF);
    if (headEnd < 0) return false;
    const lines = buf.toString('latin1', 0, headEnd).split('\r\n');
    const statusLine = /^HTTP\/1\.[01] (\d{3})[ \r]?/.exec(lines[0]!);
    if (!statusLine) return this.fail(new Error(`HttpClient: malformed status line ${JSON.stringify(lines[0])}`));
    let length = -1;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') return this.fail(new Error(`HttpClient: Transfer-Encoding ${value} not handled`));
      else if (name === 'connection' && value.toLowerCase() === 'close') this.closeAfter = true;
    }
    if (!Number.isInteger(length) || length < 0) return this.fail(new Error('HttpClient: response without a valid Content-Length'));
    this.status = Number(statusLine[1]);
    this.bodyStart = headEnd + CRLFCRLF.length;
    this.bodyLength = length;
    return true;
  }

  /**
   * Rejects the request in flight (or, with none, keeps the error for the next one) and drops the
   * connection, whose state is unknown. Returns false for parseHead.
   */
  private fail(error: Error): false {
    const pending = this.pending;
    this.close();
    this.reset();
    if (pending) pending.reject(error);
    else this.broken = error;
    return false;
  }

  private reset(): void {
    this.pending = undefined;
    this.chunks = [];
    this.received = 0;
    this.bodyStart = -1;
    this.bodyLength = 0;
    this.status = 0;
    this.closeAfter = false;
  }
}
