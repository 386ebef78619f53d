// Judges CSAF 2.0 documents with BSI's validator library: the schema tests
// and every mandatory test (section 6.1). Prints one JSON array: per file,
// whether it is valid and the failed tests with their errors.
import { readFileSync } from 'node:fs'
import validate from '@secvisogram/csaf-validator-lib/validate.js'
import * as schemaTests from '@secvisogram/csaf-validator-lib/schemaTests.js'
import * as mandatoryTests from '@secvisogram/csaf-validator-lib/mandatoryTests.js'

const tests = [...Object.values(schemaTests), ...Object.values(mandatoryTests)]
const results = []
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(readFileSync(file, 'utf8'))
  const result = await validate(tests, doc)
  results.push({
    file,
    isValid: result.isValid,
    tests: result.tests.length,
    failed: result.tests
      .filter((t) => !t.isValid)
      .map((t) => ({ name: t.name, errors: t.errors })),
  })
}
console.log(JSON.stringify(results))
