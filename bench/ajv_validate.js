// Validates every record of a corpus with ajv (+ ajv-formats), all errors on.
const fs = require("fs");
const path = require("path");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");
const [schemaPath, corpus] = process.argv.slice(2);
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
const docs = fs.readdirSync(corpus).sort().map((n) => JSON.parse(fs.readFileSync(path.join(corpus, n), "utf8")));
const start = process.hrtime.bigint();
let invalid = 0;
for (const d of docs) if (!validate(d)) invalid++;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ records: docs.length, invalid, seconds, per_second: docs.length / seconds }));
