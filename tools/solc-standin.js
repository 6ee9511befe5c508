#!/usr/bin/env node
// Makes the official WebAssembly solc from npm answer like a native `solc` binary, so that
// py-solc-x / ape-solidity (and forge) can drive it. Only the CLI surface those tools use is
// implemented: `--version` and `--standard-json` with --base-path / --include-path / --allow-paths.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], standardJson: false, version: false };
  const takesValue = new Set(["--base-path", "--include-path", "--allow-paths"]);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (takesValue.has(arg)) {
      value = argv[++i];
    }
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (arg === "--base-path") opts.basePath = value;
    else if (arg === "--include-path") opts.includePaths.push(value);
    // --allow-paths and every other flag are accepted and ignored: the import callback below
    // only reads files under the configured roots anyway.
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [];
  if (opts.basePath) roots.push(path.resolve(opts.basePath));
  for (const p of opts.includePaths) roots.push(path.resolve(p));
  roots.push(process.cwd());
  return function findImports(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, "utf8") };
      } catch (_) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function readStdin() {
  const chunks = [];
  let chunk;
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === "EAGAIN") continue;
      if (err.code === "EOF") break;
      throw err;
    }
    if (n === 0) break;
    chunk = Buffer.from(buf.subarray(0, n));
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    const full = solc.version().replace(".Emscripten.clang", ".Linux.g++");
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${full}\n`);
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write("solc stand-in: only --version and --standard-json are supported\n");
    process.exitCode = 1;
    return;
  }
  const input = readStdin();
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  // No process.exit() here: stdout to a pipe is flushed asynchronously and would be cut at 64 KiB.
  process.stdout.write(output);
}

main();
