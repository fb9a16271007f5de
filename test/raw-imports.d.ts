/** Vite's `?raw` imports (the file's text, byte for byte), used for the verbatim Alfred docs fixtures. */
declare module "*?raw" {
  const text: string;
  export default text;
}
