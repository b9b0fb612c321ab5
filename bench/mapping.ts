// Benchmark: 100 000 generated records mapped with a plain mapping (ten source/transform rules)
// and with ten expression rules doing similar work, in one process, the two alternating so that
// neither gets a warmer machine. Prints each run's CPU time, the median of each and the ratio
// (goal: ≤ 1.5).
//
// Usage: npm run bench:mapping -- [--records 100000] [--rounds 5]
import { Command } from 'commander';
import { applyMapping, type CompiledMapping, compileMapping } from '../src/mapping/mapping';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const PLAIN = {
  attributes: {
    userName: { source: 'email', transform: ['trim', 'lowercase'] },
    externalId: 'employee_id',
    'name.givenName': { source: 'first_name', transform: 'trim' },
    'name.familyName': 'last_name',
    displayName: { source: ['first_name', 'last_name'], join: ' ' },
    'emails[type eq "work"].value': { source: 'email', transform: 'lowercase' },
    active: { source: 'enabled', transform: 'boolean', default: true },
    title: { source: 'title', transform: 'uppercase' },
    [`${ENTERPRISE}:department`]: 'department',
    [`${ENTERPRISE}:employeeNumber`]: { source: 'employee_id', transform: 'trim' },
  },
};

const EXPRESSIONS = {
  attributes: {
    userName: { expression: 'ToLower(StripSpaces([email]))' },
    externalId: { expression: '[employee_id]' },
    'name.givenName': { expression: 'StripSpaces([first_name])' },
    'name.familyName': { expression: '[last_name]' },
    displayName: { expression: 'Join(" ", [first_name], [last_name])' },
    'emails[type eq "work"].value': { expression: 'ToLower([email])' },
    active: { expression: 'CBool(Coalesce([enabled], "True"))' },
    title: { expression: 'ToUpper([title])' },
    [`${ENTERPRISE}:department`]: { expression: 'IgnoreFlowIfNullOrEmpty([department])' },
    [`${ENTERPRISE}:employeeNumber`]: { expression: 'Append("", [employee_id])' },
  },
};

const FIRST = ['Zoë', 'Ana', 'Bjørn', 'Chen', 'Dario', 'Eve', 'Farah', 'Gus'];
const LAST = ['Åkesson', 'Brown', 'Cruz', 'Dubois', 'Evans', 'Fischer', 'García', 'Horvat'];
const DEPARTMENTS = ['Sales', 'Support', 'Ops', ''];

function records(n: number): Array<Record<string, string>> {
  return Array.from({ length: n }, (_, i) => {
    const first = FIRST[i % FIRST.length];
    const last = LAST[(i * 7) % LAST.length];
    return {
      employee_id: String(100000 + i),
      first_name: first,
      last_name: last,
      email: ` ${first}.${last}.${i}@Example.com`,
      enabled: i % 10 === 0 ? 'false' : 'true',
      title: i % 3 === 0 ? 'agent' : 'supervisor',
      department: DEPARTMENTS[i % DEPARTMENTS.length],
    };
  });
}

function compile(document: unknown): CompiledMapping {
  const result = compileMapping(document);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.mapping;
}

/**
 * The process's CPU milliseconds (user + system) to map every record: on a shared machine the wall
 * clock counts other processes' turns too. Fails on any record the mapping refuses (the work must be real).
 */
function time(mapping: CompiledMapping, input: Array<Record<string, string>>): number {
  const started = process.cpuUsage();
  let users = 0;
  for (let i = 0; i < input.length; i++) {
    const mapped = applyMapping(mapping, input[i], { now: 0, seed: `bench/${i}` });
    if (!mapped.ok) throw new Error(`record ${i + 1}: ${mapped.problems.join('; ')}`);
    users += mapped.user.userName === undefined ? 0 : 1;
  }
  if (users !== input.length) throw new Error(`${input.length - users} records mapped without a userName`);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function main(): void {
  const options = new Command()
    .option('--records <n>', 'records to map', (v) => Number(v), 100_000)
    .option('--rounds <n>', 'runs of each mapping', (v) => Number(v), 7)
    .parse()
    .opts<{ records: number; rounds: number }>();
  const plain = compile(PLAIN);
  const expressions = compile(EXPRESSIONS);
  const input = records(options.records);
  // Both mappings give the same users (the same work), apart from the letter case of the trimmed email.
  const a = applyMapping(plain, input[1], { now: 0, seed: 'x' });
  const b = applyMapping(expressions, input[1], { now: 0, seed: 'x' });
  if (JSON.stringify(a) !== JSON.stringify(b))
    throw new Error(`the two mappings differ:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  time(plain, input.slice(0, 5000)); // warm-up
  time(expressions, input.slice(0, 5000));
  const plainMs: number[] = [];
  const expressionMs: number[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    plainMs.push(time(plain, input));
    expressionMs.push(time(expressions, input));
    console.log(
      `round ${round}: plain ${plainMs.at(-1)?.toFixed(0)} ms, expressions ${expressionMs.at(-1)?.toFixed(0)} ms (CPU)`,
    );
  }
  const [p, e] = [median(plainMs), median(expressionMs)];
  console.log(`${options.records} records, ten rules, median CPU time of ${options.rounds} alternating runs:`);
  console.log(`  plain mapping       ${p.toFixed(0)} ms (${((options.records / p) * 1000).toFixed(0)} records/s)`);
  console.log(`  expression mapping  ${e.toFixed(0)} ms (${((options.records / e) * 1000).toFixed(0)} records/s)`);
  console.log(`  ratio               ${(e / p).toFixed(2)} (goal ≤ 1.50)`);
  if (e / p > 1.5) process.exitCode = 1;
}

main();
