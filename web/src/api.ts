// The service's HTTP API as the console uses it: keys from the tab's session storage, sent only
// in the Authorization header; errors read from RFC 9457 problem details.

const READ_KEY = "mr.readKey";
const WRITE_KEY = "mr.writeKey";

export type Problem = {
  status: number;
  title: string;
  detail?: string;
  errors?: { loc?: (string | number)[]; msg?: string }[];
};

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }

  get unauthorized(): boolean {
    return this.problem.status === 401 || this.problem.status === 403;
  }
}

export const keys = {
  read: (): string => sessionStorage.getItem(READ_KEY) ?? "",
  write: (): string => sessionStorage.getItem(WRITE_KEY) ?? "",
  save(read: string, write: string): void {
    sessionStorage.setItem(READ_KEY, read);
    sessionStorage.setItem(WRITE_KEY, write);
  },
};

export function authHeaders(key: string): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export async function problemOf(response: Response): Promise<Problem> {
  const fallback = { status: response.status, title: response.statusText || "request failed" };
  try {
    const body = (await response.json()) as Partial<Problem>;
    return { ...fallback, ...body, status: response.status };
  } catch {
    return fallback;
  }
}

export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.problem.status === 401) return `The key was refused: ${error.message}. Enter a valid key above.`;
    if (error.problem.status === 403) return `This key may not do that: ${error.message}.`;
    return `${error.problem.title}: ${error.message}`;
  }
  return `The service cannot be reached (${String(error)}).`;
}

export async function request(
  path: string,
  init: RequestInit = {},
  key: string = keys.read(),
): Promise<Response> {
  const headers = { Accept: "application/json", ...authHeaders(key), ...(init.headers ?? {}) };
  const response = await fetch(path, { ...init, headers });
  if (!response.ok) throw new ApiError(await problemOf(response));
  return response;
}

export async function getJson<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ""));
  const url = query.size ? `${path}?${query}` : path;
  return (await (await request(url)).json()) as T;
}
