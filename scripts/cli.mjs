// Command-line manners shared by the scripts (issue 24): a usage error is one line and exit 2,
// a near miss gets "did you mean", a token may come from the environment or standard input, and a
// listing is an aligned table. Pure functions, apart from `usageError` and `readToken`; importing
// this module starts nothing, so a command that fails early stays fast.

/**
 * Damerau–Levenshtein distance (the "optimal string alignment" form): insertions, deletions,
 * substitutions and swaps of two neighbouring characters each cost 1, so `faild` is 1 from `failed`
 * and `tokne` 1 from `token`.
 */
export function editDistance(a, b) {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = Array.from({ length: rows }, (_, i) => {
    const row = new Array(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * What `input` was most likely meant to be, among `candidates`: those nearest to it, when that is
 * close — at most 1 edit for a word of up to 7 characters, 2 up to 11, 3 beyond (case ignored) —
 * else, when `input` begins a few of them (`classify_run` → its two types), those. Empty when
 * nothing is close: a wild guess helps less than no guess.
 */
export function closest(input, candidates) {
  const typed = String(input).toLowerCase();
  if (typed === "") return [];
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 4)));
  let best = Number.POSITIVE_INFINITY;
  let nearest = [];
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance > limit || distance > best) continue;
    if (distance < best) nearest = [];
    best = distance;
    nearest.push(candidate);
  }
  if (nearest.length > 0) return nearest.slice(0, 3);
  if (typed.length < 3) return [];
  const started = candidates.filter((candidate) => candidate.toLowerCase().startsWith(typed));
  return started.length > 0 && started.length <= 4 ? started : [];
}

/** `", did you mean X?"` (or `X or Y`) for the closest candidates, or "" when none is close. */
export function didYouMean(input, candidates) {
  const near = closest(input, candidates);
  if (near.length === 0) return "";
  const list = near.length === 1 ? near[0] : `${near.slice(0, -1).join(", ")} or ${near.at(-1)}`;
  return `, did you mean ${list}?`;
}

/**
 * A usage error as one line: `runledger send: unknown option --foo (see npm run send -- --help)`.
 * `see` is where the full story is (the command's --help, or e.g. `npm run send -- --list`).
 */
export function usageLine(command, message, see) {
  return `runledger ${command}: ${message} (see ${see})`;
}

/** Prints a usage error (one line, stderr) and exits 2, as the Stripe and GitHub CLIs do. */
export function usageError(command, message, see) {
  console.error(usageLine(command, message, see));
  process.exit(2);
}

/**
 * The usage errors of one command: `fail(message)` prints one line and exits 2;
 * `unknownOption(arg, known)` names the option and the nearest known one.
 */
export function usage(command, helpCommand) {
  const help = `${helpCommand} -- --help`;
  const fail = (message, see = help) => usageError(command, message, see);
  return {
    fail,
    unknownOption: (arg, known) =>
      fail(`unknown option ${arg}${didYouMean(arg.replace(/=.*$/, ""), known.map(String))}`),
  };
}

/** Reads the first line of a stream (the rest is left unread), without its line ending. */
export function readFirstLine(stream) {
  return new Promise((resolve, reject) => {
    let text = "";
    const finish = (error, value) => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      // Stop reading: an open standard input would keep the process alive.
      stream.destroy?.();
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk) => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end !== -1) finish(null, text.slice(0, end));
    };
    const onEnd = () => finish(null, text);
    const onError = (error) => finish(error);
    stream.setEncoding?.("utf8");
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
  });
}

/**
 * The token a command uses, and where it came from:
 * - `--token -`: the first line of standard input (`… --token - < file`, `pass show x | …`) — seen
 *   by no other process;
 * - `--token T`: T itself — which other local users can read in `ps` while the command runs;
 * - otherwise the first of the environment variables `envNames` that is set (`RUNLEDGER_TOKEN`).
 * Returns `{ token: undefined }` when there is none; an empty standard input is a usage error,
 * reported through `fail`.
 */
export async function readToken(flagValue, envNames, { env = process.env, stdin = process.stdin, fail }) {
  if (flagValue === "-") {
    if (stdin.isTTY) process.stderr.write("Token (then Enter): ");
    const token = (await readFirstLine(stdin)).trim();
    if (token === "") fail("--token - read no token from standard input");
    return { token, from: "stdin" };
  }
  if (flagValue !== undefined) return { token: flagValue, from: "--token" };
  for (const name of envNames) {
    const value = env[name]?.trim();
    if (value) return { token: value, from: name };
  }
  return { token: undefined, from: undefined };
}

/**
 * Rows as an aligned table: a header line, then one line per row, columns two spaces apart, no
 * trailing spaces. Cells are strings (or anything String() makes readable).
 */
export function formatTable(headers, rows) {
  const cells = [headers, ...rows].map((row) => row.map((cell) => String(cell ?? "")));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
