// Builds the console into the service's package data: hashed bundles (cached for a year by the
// service) and an index.html that names them (never cached). `node build.mjs [outdir]`.
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] ?? path.join(here, "../services/console/static"));

await rm(outdir, { recursive: true, force: true });
await mkdir(path.join(outdir, "assets"), { recursive: true });
const result = await build({
  entryPoints: [path.join(here, "src/main.ts"), path.join(here, "src/styles.css")],
  bundle: true,
  minify: true,
  sourcemap: "linked",
  format: "esm",
  target: ["es2022"],
  entryNames: "[name]-[hash]",
  outdir: path.join(outdir, "assets"),
  metafile: true,
  logLevel: "warning",
});

const built = Object.entries(result.metafile.outputs)
  .filter(([, output]) => output.entryPoint)
  .map(([file]) => path.basename(file));
const script = built.find((name) => name.endsWith(".js"));
const style = built.find((name) => name.endsWith(".css"));
if (!script || !style) throw new Error(`build: missing bundle in ${built.join(", ")}`);
const template = await readFile(path.join(here, "index.html"), "utf8");
const index = template
  .replace("{{script}}", `/assets/${script}`)
  .replace("{{style}}", `/assets/${style}`);
await writeFile(path.join(outdir, "index.html"), index);
console.log(`console: built ${script} and ${style} into ${path.relative(process.cwd(), outdir)}`);
