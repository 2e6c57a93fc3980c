/** The checkrd CLI: validate, eval, test, hash, schema. */
import { parseArgs } from 'node:util';
import { CheckrdError } from '@checkrd/core';
import { evalCommand } from './eval.js';
import { hashCommand, schemaCommand, validateCommand } from './validate.js';
import { testCommand } from './test.js';
import { CliError, println, UsageError, type Io } from './io.js';

const USAGE = `usage: checkrd <command> [options]

commands:
  validate <policy.yaml…> [--org org.yaml] [--require-agent] [--json]
      check policies; errors as file:line:col; exit 1 if any is invalid
  eval <policy.yaml> --method M --url U [--body JSON|@file] [--header name:value]… [--time T] [--explain]
  eval <policy.yaml> --requests <file.jsonl|->
      evaluate requests; one JSON decision per line. Lines: {method, url, headers?, body?, time?};
      all lines run on one engine, so rate limits carry across them
  test <policy.yaml> <cases.yaml>
      run policy unit tests; exit 1 on failure
  hash <policy.yaml>
      print the policy's identity, sha256:<hex> of its bytes
  schema
      print the JSON Schema of the policy format
`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'eval':
        return await evalCommand(rest, io);
      case 'test':
        return await testCommand(rest, io);
      case 'hash':
        return await hashCommand(rest, io);
      case 'schema':
        return schemaCommand(io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      println(io.stderr, `checkrd: ${(e as Error).message}`);
      println(io.stderr, `run "checkrd help" for usage`);
      return 2;
    }
    if (e instanceof CliError) {
      println(io.stderr, e.message);
      return 1;
    }
    if (e instanceof CheckrdError) {
      println(io.stderr, e.message);
      return 1;
    }
    println(io.stderr, `checkrd: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

export { parseArgs };
