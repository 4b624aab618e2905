/**
 * The README's option tables are those generated from the code
 * (scripts/options-table.ts), and every documented default is the one the
 * code uses.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { README, checkDefaults, withTables } from '../../scripts/options-table.js'

describe('README: options and limits', () => {
  it('documents every option with the default the code uses', () => {
    assert.deepEqual(checkDefaults(), [])
  })

  it('holds the tables generated from the options\' JSDoc (npm run options-table -- --write)', () => {
    const readme = readFileSync(README, 'utf8')
    assert.equal(readme, withTables(readme))
  })
})
