#!/usr/bin/env node
// ref.js: Google's libphonenumber (the google-libphonenumber npm build of
// the official JavaScript library) as the reference for
// checker/phone/testdata/normalize.golden.
//
//   node ref.js fill FILE        replace "=> ?" with Google's result
//   node ref.js check [-v] FILE  compare every case with Google's result
//   node ref.js version          print the library and metadata in use
//
// # Golden format
//
// One case a line; '#' starts a comment line; blank lines are ignored.
//
//   REGION "RAW" => RESULT
//   REGION "RAW" => RESULT [pc: GOOGLE] optional note
//   REGION "RAW" => RESULT [lag: GOOGLE] optional note
//   REGION "RAW" => ?                      (fill writes Google's result)
//   REGION "RAW" => RESULT [pc: ?] note    (fill writes Google's result)
//
// RESULT is "+E164 REGION" ("+E164 REGION retried" when phonecheck read
// the number by its international retry) or "invalid: REASON". REGION is
// the default region (two letters, ZZ for none). RAW is a Go
// double-quoted string (strconv.Quote). The result region is
// getRegionCodeForNumber (two letters, or 001 for non-geographic codes).
//
// The table holds both of phonecheck's modes, and check compares each with
// Google:
//   - default mode (phonecheck's Normalize): RESULT, which must be Google's
//     result but on [pc] and [lag] lines;
//   - strict mode (NormalizeStrict, --strict): GOOGLE on [pc] lines, RESULT
//     elsewhere, which must be Google's result but on [lag] lines.
// "[pc: GOOGLE]" marks a case where phonecheck's default deliberately
// differs from Google; "[lag: GOOGLE]" one where the Go port's metadata
// lags Google's (no mode can follow Google there). check fails a marked
// case whose GOOGLE is not Google's result, or where Google already gives
// RESULT (the mark would be wrong: for [lag], the metadata caught up).
//
// # Reasons
//
// The reason an input is invalid is derived from Google's result:
//
//   input of white space only (Go's unicode.IsSpace)  -> empty
//   parse error NOT_A_NUMBER                          -> not a number
//   parse error INVALID_COUNTRY_CODE                  -> invalid country code
//   parse error TOO_SHORT_AFTER_IDD, TOO_SHORT_NSN    -> too short
//   parse error TOO_LONG                              -> too long
//   parsed, isValidNumber false, then by isPossibleNumberWithReason:
//     TOO_SHORT -> too short, TOO_LONG -> too long,
//     INVALID_LENGTH -> invalid length,
//     INVALID_COUNTRY_CODE -> invalid country code,
//     otherwise -> not a valid number
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const path = require('path');
const lib = require('google-libphonenumber');

const util = lib.PhoneNumberUtil.getInstance();
const PNF = lib.PhoneNumberFormat;
const VR = lib.PhoneNumberUtil.ValidationResult;
const E = lib.Error;

// versionInfo describes the library and the metadata it carries. The npm
// build embeds no upstream version string, so the metadata is identified by
// a digest of the compiled metadata tables (stable across machines for one
// package version).
function versionInfo() {
  const pkg = require('google-libphonenumber/package.json');
  const md = lib.metadata;
  const digest = crypto.createHash('sha256')
    .update(JSON.stringify([md.countryCodeToRegionCodeMap, md.countryToMetadata]))
    .digest('hex').slice(0, 16);
  const regions = util.getSupportedRegions().length;
  const codes = Object.keys(md.countryCodeToRegionCodeMap).length;
  return `google-libphonenumber ${pkg.version} (node ${process.version}); ` +
    `metadata: ${regions} regions, ${codes} calling codes, sha256:${digest}`;
}

// Go's unicode.IsSpace.
function isGoSpace(ch) {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u.test(ch);
}

function isBlank(s) {
  for (const ch of s) {
    if (!isGoSpace(ch)) return false;
  }
  return true;
}

const parseErrorReason = new Map([
  [E.NOT_A_NUMBER, 'not a number'],
  [E.INVALID_COUNTRY_CODE, 'invalid country code'],
  [E.TOO_SHORT_AFTER_IDD, 'too short'],
  [E.TOO_SHORT_NSN, 'too short'],
  [E.TOO_LONG, 'too long'],
]);

// google returns Google's result for raw parsed with default region, in the
// golden table's notation: "+E164 REGION" or "invalid: REASON".
function google(region, raw) {
  if (isBlank(raw)) return 'invalid: empty';
  let num;
  try {
    num = util.parse(raw, region);
  } catch (e) {
    const reason = parseErrorReason.get(e && e.message);
    if (!reason) throw new Error(`unexpected error from parse: ${e && e.stack || e}`);
    return 'invalid: ' + reason;
  }
  if (!util.isValidNumber(num)) {
    switch (util.isPossibleNumberWithReason(num)) {
      case VR.TOO_SHORT: return 'invalid: too short';
      case VR.TOO_LONG: return 'invalid: too long';
      case VR.INVALID_LENGTH: return 'invalid: invalid length';
      case VR.INVALID_COUNTRY_CODE: return 'invalid: invalid country code';
      default: return 'invalid: not a valid number';
    }
  }
  return util.format(num, PNF.E164) + ' ' + util.getRegionCodeForNumber(num);
}

// unquoteGo decodes a Go double-quoted string literal (the whole of s),
// including the escapes JSON lacks (\a \v \xNN \NNN \UNNNNNNNN). Byte
// escapes are collected as bytes and the result must be valid UTF-8.
function unquoteGo(s) {
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') {
    throw new Error('not a double-quoted string');
  }
  const bytes = [];
  const pushStr = (str) => { for (const b of Buffer.from(str, 'utf8')) bytes.push(b); };
  const simple = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34 };
  const body = s.slice(1, -1);
  for (let i = 0; i < body.length;) {
    const c = body[i];
    if (c === '"') throw new Error('unescaped " inside string');
    if (c === '\n') throw new Error('newline inside string');
    if (c !== '\\') {
      const cp = body.codePointAt(i);
      const ch = String.fromCodePoint(cp);
      pushStr(ch);
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new Error('trailing backslash');
    if (e in simple) { bytes.push(simple[e]); i += 2; continue; }
    const hex = (n) => {
      const h = body.slice(i + 2, i + 2 + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new Error(`bad \\${e} escape`);
      return parseInt(h, 16);
    };
    if (e === 'x') { bytes.push(hex(2)); i += 4; continue; }
    if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const cp = hex(n);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error(`bad \\${e} escape`);
      pushStr(String.fromCodePoint(cp));
      i += 2 + n;
      continue;
    }
    if (/[0-7]/.test(e)) {
      const o = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw new Error('bad octal escape');
      bytes.push(parseInt(o, 8));
      i += 4;
      continue;
    }
    throw new Error(`unknown escape \\${e}`);
  }
  const buf = Buffer.from(bytes);
  const str = buf.toString('utf8');
  if (!Buffer.from(str, 'utf8').equals(buf)) throw new Error('not valid UTF-8');
  return str;
}

const RESULT_RE = /^(\+[0-9]+ (?:[A-Z]{2}|[0-9]{3})( retried)?|invalid: [a-z ]+[a-z]|\?)$/;
const GOOGLE_RE = /^(\+[0-9]+ (?:[A-Z]{2}|[0-9]{3})|invalid: [a-z ]+[a-z]|\?)$/;

// parseLine splits a case line. It returns null for comments and blank
// lines and throws on a malformed line.
function parseLine(line) {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return null;
  const m = /^([A-Z]{2}) ("(?:[^"\\]|\\.)*") => (.*)$/.exec(t);
  if (!m) throw new Error('want: REGION "RAW" => RESULT [[pc] note]');
  const region = m[1];
  const raw = unquoteGo(m[2]);
  let rest = m[3];
  let mark = '';
  let google = '';
  let note = '';
  if (/\[pc\]/.test(rest)) throw new Error('[pc] without Google\'s result: write [pc: ?] and run fill');
  const mm = /^(.*?) \[(pc|lag): ([^\]]*)\](.*)$/.exec(rest);
  if (mm) {
    rest = mm[1];
    mark = mm[2];
    google = mm[3].trim();
    note = mm[4].trim();
    if (!GOOGLE_RE.test(google)) throw new Error(`bad Google result ${JSON.stringify(google)} in [${mark}: ...]`);
  }
  rest = rest.trim();
  if (!RESULT_RE.test(rest)) throw new Error(`bad result ${JSON.stringify(rest)}`);
  if (mark && rest === '?') throw new Error(`a [${mark}] case needs its expected result written by hand`);
  if (mark !== 'pc' && / retried$/.test(rest)) throw new Error('only a [pc] case may be retried (Google never retries)');
  return { region, raw, quoted: m[2], want: rest, mark, google, note };
}

function googleRegion(region) {
  return region === 'ZZ' ? 'ZZ' : region;
}

function readLines(file) {
  return fs.readFileSync(file, 'utf8').split('\n');
}

function usage() {
  process.stderr.write('usage: node ref.js fill FILE | node ref.js check [-v] FILE | node ref.js version\n');
  process.exit(2);
}

function main(argv) {
  const cmd = argv[0];
  if (cmd === 'version') {
    console.log(versionInfo());
    return 0;
  }
  let verbose = false;
  const rest = argv.slice(1).filter((a) => {
    if (a === '-v') { verbose = true; return false; }
    return true;
  });
  if ((cmd !== 'fill' && cmd !== 'check') || rest.length !== 1) usage();
  const file = rest[0];
  const shown = path.relative(process.cwd(), file) || file;
  const lines = readLines(file);
  console.log(versionInfo());

  if (cmd === 'fill') {
    let filled = 0;
    let bad = 0;
    const out = lines.map((line, i) => {
      let c;
      try {
        c = parseLine(line);
      } catch (e) {
        console.log(`${shown}:${i + 1}: ${e.message}`);
        bad++;
        return line;
      }
      if (!c) return line;
      const g = google(googleRegion(c.region), c.raw);
      if (c.mark && c.google === '?') {
        filled++;
        return line.replace(`[${c.mark}: ?]`, `[${c.mark}: ${g}]`);
      }
      if (c.want !== '?') return line;
      filled++;
      const head = line.slice(0, line.lastIndexOf('=>'));
      return `${head}=> ${g}`;
    });
    if (bad > 0) {
      console.log(`${bad} malformed lines; nothing written`);
      return 1;
    }
    fs.writeFileSync(file, out.join('\n'));
    console.log(`filled ${filled} cases`);
    return 0;
  }

  // Each case is compared in both modes; a mode agrees with Google where
  // its expected result is Google's.
  let failed = 0;
  const modes = { default: { agree: 0, pc: 0, lag: 0 }, strict: { agree: 0, lag: 0 } };
  lines.forEach((line, i) => {
    const where = `${shown}:${i + 1}`;
    let c;
    try {
      c = parseLine(line);
    } catch (e) {
      console.log(`${where}: malformed line: ${e.message}`);
      failed++;
      return;
    }
    if (!c) return;
    if (c.want === '?' || c.google === '?') {
      console.log(`${where}: ${c.region} ${c.quoted}: no expected result (run fill)`);
      failed++;
      return;
    }
    const got = google(googleRegion(c.region), c.raw);
    if (c.mark) {
      if (got === c.want) {
        console.log(`${where}: ${c.region} ${c.quoted}: marked [${c.mark}] but google already says ${got}`);
        failed++;
        return;
      }
      if (got !== c.google) {
        console.log(`${where}: ${c.region} ${c.quoted}: [${c.mark}: ${c.google}], google says ${got}`);
        failed++;
        return;
      }
      if (verbose) console.log(`${where}: ${c.region} ${c.quoted}: [${c.mark}] phonecheck ${c.want}, google (and strict) ${got}`);
      if (c.mark === 'pc') {
        modes.default.pc++;
        modes.strict.agree++;
      } else {
        modes.default.lag++;
        modes.strict.lag++;
      }
      return;
    }
    if (got !== c.want) {
      console.log(`${where}: ${c.region} ${c.quoted}: want ${c.want}, google says ${got}`);
      failed++;
      return;
    }
    modes.default.agree++;
    modes.strict.agree++;
  });
  const d = modes.default;
  const s = modes.strict;
  console.log(`default mode: ${d.agree} cases agree with google, ${d.pc} [pc] deviations, ${d.lag} [lag] (metadata)`);
  console.log(`strict mode:  ${s.agree} cases agree with google, ${s.lag} [lag] (metadata)`);
  console.log(`${d.agree + d.pc + d.lag} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}

module.exports = { google, unquoteGo, parseLine, versionInfo };
