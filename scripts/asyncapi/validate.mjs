// Validates an AsyncAPI document with @asyncapi/parser, the Avro schema parser registered
// (without it the parser skips Avro payloads, so a broken .avsc $ref would pass).
//   node scripts/asyncapi/validate.mjs FILE
// Prints every diagnostic; exits 1 when one has severity error, 2 on bad usage.
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: node validate.mjs ASYNCAPI_FILE');
  process.exit(2);
}
const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());

const { document, diagnostics } = await fromFile(parser, file).parse();
const names = { [DiagnosticSeverity.Error]: 'error', [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info', [DiagnosticSeverity.Hint]: 'hint' };
let errors = 0;
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join('.') : '(document)';
  const line = d.range ? `${d.range.start.line + 1}:${d.range.start.character + 1}` : '';
  console.log(`${names[d.severity] ?? d.severity}: ${file}:${line} ${where}: ${d.message} [${d.code}]`);
  if (d.severity === DiagnosticSeverity.Error) errors += 1;
}
if (errors > 0 || document === undefined) {
  console.error(`error: ${file}: ${errors} error(s); the document is not valid AsyncAPI`);
  process.exit(1);
}
console.log(`asyncapi: ${file} is valid (${diagnostics.length} diagnostics, none an error)`);
