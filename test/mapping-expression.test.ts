// Entra's expression language (src/mapping/expression): every example in Microsoft's reference
// ("Reference for writing expressions for attribute mappings in Microsoft Entra ID",
// docs/identity/app-provisioning/functions-for-customizing-application-data.md in
// MicrosoftDocs/entra-docs) as input columns → expected output, then what the reference leaves
// open, the errors a mapping author sees, and determinism. Pure: no servers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CompiledExpression,
  compileExpression,
  type EvaluationContext,
  evaluate,
  evaluateAsync,
  FUNCTIONS,
  LEFT_OUT,
  seededRandom,
} from '../src/mapping/expression';

const NOW = Date.UTC(2021, 7, 25, 17, 41, 18); // 8/25/2021 5:41:18 PM, the "Now()" of Microsoft's DateDiff table

function compiled(text: string, columns?: string[]): CompiledExpression {
  const result = compileExpression(text, { entry: 'target', ...(columns ? { columns } : {}) });
  if (!result.ok) assert.fail(result.errors.map((e) => e.message).join('\n'));
  return result.expression;
}

function run(text: string, record: Record<string, unknown> = {}, context: Partial<EvaluationContext> = {}) {
  return evaluate(compiled(text), record, { now: NOW, ...context });
}

/** The value an expression gives for a record; fails the test on an evaluation problem. */
function value(text: string, record: Record<string, unknown> = {}, context: Partial<EvaluationContext> = {}) {
  const result = run(text, record, context);
  if (!result.ok) assert.fail(result.problem);
  assert.equal(result.ignore, false, `${text} was ignored`);
  return result.value;
}

function problem(text: string, record: Record<string, unknown> = {}, context: Partial<EvaluationContext> = {}) {
  const result = run(text, record, context);
  assert.equal(result.ok, false, `${text} should fail, gave ${JSON.stringify(result)}`);
  return (result as { problem: string }).problem;
}

function compileErrors(text: string, columns?: string[]) {
  const result = compileExpression(text, { entry: 'userName', ...(columns ? { columns } : {}) });
  assert.equal(result.ok, false, `${text} should not compile`);
  return (result as Extract<typeof result, { ok: false }>).errors;
}

type Example = [expression: string, input: Record<string, unknown>, output: unknown];

function examples(cases: Example[], context: Partial<EvaluationContext> = {}) {
  for (const [expression, input, output] of cases)
    it(`${expression} ${JSON.stringify(input)} → ${JSON.stringify(output)}`, () =>
      assert.deepEqual(value(expression, input, context), output));
}

describe("Microsoft's examples, function by function", () => {
  describe('syntax', () => {
    examples([
      ['"Company name: \\"Contoso\\""', {}, 'Company name: "Contoso"'],
      ['Append("a\\\\b", "")', {}, 'a\\b'],
    ]);
  });
  describe('Append', () => {
    examples([
      [
        'Append([userPrincipalName], ".test")',
        { userPrincipalName: 'John.Doe@contoso.com' },
        'John.Doe@contoso.com.test',
      ],
    ]);
  });
  describe('BitAnd', () => {
    examples([['BitAnd(&HF, &HF7)', {}, 7]]);
  });
  describe('CBool', () => {
    examples([
      ['CBool([attribute1] = [attribute2])', { attribute1: 'Sales', attribute2: 'Sales' }, true],
      ['CBool([attribute1] = [attribute2])', { attribute1: 'Sales', attribute2: 'sales' }, false],
    ]);
  });
  describe('CDate', () => {
    examples([
      ['CDate([StatusHireDate])', { StatusHireDate: '2020-03-16-07:00' }, '3/16/2020 7:00:00 AM'],
      ['CDate("2021-06-30+08:00")', {}, '6/29/2021 4:00:00 PM'],
      ['CDate("2009-06-15T01:45:30-07:00")', {}, '6/15/2009 8:45:30 AM'],
    ]);
  });
  describe('Coalesce', () => {
    examples([
      ['Coalesce([mail],[userPrincipalName])', { userPrincipalName: 'John.Doe@contoso.com' }, 'John.Doe@contoso.com'],
    ]);
  });
  describe('ConvertToBase64 and ConvertToUTF8Hex', () => {
    examples([
      ['ConvertToBase64("Hello world!")', {}, 'SABlAGwAbABvACAAdwBvAHIAbABkACEA'],
      ['ConvertToUTF8Hex("Hello world!")', {}, '48656C6C6F20776F726C6421'],
    ]);
  });
  describe('CStr', () => {
    examples([['CStr([dn])', { dn: 'cn=Joe,dc=contoso,dc=com' }, 'cn=Joe,dc=contoso,dc=com']]);
  });
  describe('DateAdd: the table of Example 1', () => {
    const hire = { StatusHireDate: '2012-03-16-07:00' };
    examples([
      ['DateAdd("d", 7, CDate([StatusHireDate]))', hire, '3/23/2012 7:00:00 AM'],
      ['DateAdd("d", -10, CDate([StatusHireDate]))', hire, '3/6/2012 7:00:00 AM'],
      ['DateAdd("ww", 2, CDate([StatusHireDate]))', hire, '3/30/2012 7:00:00 AM'],
      ['DateAdd("m", 10, CDate([StatusHireDate]))', hire, '1/16/2013 7:00:00 AM'],
      ['DateAdd("yyyy", 2, CDate([StatusHireDate]))', hire, '3/16/2014 7:00:00 AM'],
    ]);
  });
  describe('DateDiff: the table of Example 1', () => {
    const diff = 'DateDiff([interval], CDate([date1]), CDate([date2]))';
    examples([
      [diff, { interval: 'd', date1: '2021-08-18+08:00', date2: '2021-08-31+08:00' }, 13],
      [diff, { interval: 'd', date1: '8/25/2021 5:41:18 PM', date2: '2012-03-16-07:00' }, -3449],
      [diff, { interval: 'ww', date1: '8/25/2021 5:41:18 PM', date2: '2012-03-16-07:00' }, -493],
      [diff, { interval: 'm', date1: '8/25/2021 5:41:18 PM', date2: '2012-03-16-07:00' }, -113],
      [diff, { interval: 'yyyy', date1: '8/25/2021 5:41:18 PM', date2: '2012-03-16-07:00' }, -9],
      [diff, { interval: 'd', date1: '2021-08-31+08:00', date2: '2021-08-31+08:00' }, 0],
      [diff, { interval: 'h', date1: '2021-08-24', date2: '2021-08-25' }, 24],
      [diff, { interval: 'n', date1: '2021-08-24', date2: '2021-08-25' }, 1440],
      [diff, { interval: 's', date1: '2021-08-24', date2: '2021-08-25' }, 86400],
      // The table's own expression, with Now() at 8/25/2021 5:41:18 PM.
      ['DateDiff("d", Now(), CDate([StatusHireDate]))', { StatusHireDate: '2012-03-16-07:00' }, -3449],
      ['DateDiff("ww", Now(), CDate([StatusHireDate]))', { StatusHireDate: '2012-03-16-07:00' }, -493],
    ]);
  });
  describe('DateDiff: Example 2 (with Switch and IIF)', () => {
    const expression = `Switch([Active], ,
  "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"),
  "0", "False")`;
    examples([
      [expression, { Active: '1', StatusHireDate: '2021-08-28' }, 'True'],
      [expression, { Active: '1', StatusHireDate: '2021-09-30' }, 'False'],
      [expression, { Active: '0', StatusHireDate: '2021-08-28' }, 'False'],
      [expression, { Active: '2', StatusHireDate: '2021-08-28' }, null], // no key matches, no default
    ]);
  });
  describe('DateFromNum', () => {
    examples([
      ['DateFromNum(129699324000000000)', {}, '1/1/2012 11:00:00 PM'],
      ['DateFromNum([lastLogonTimestamp])', { lastLogonTimestamp: '129699324000000000' }, '1/1/2012 11:00:00 PM'],
    ]);
  });
  describe('FormatDateTime', () => {
    examples([
      [
        'FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")',
        { extensionAttribute1: '20150123105347.1Z' },
        '2015-01-23',
      ],
    ]);
  });
  describe('Guid', () => {
    it('Guid() gives a random (version 4) GUID like "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"', () => {
      const guid = value('Guid()', {}, { random: seededRandom('g') });
      assert.match(String(guid), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });
  });
  describe('IgnoreFlowIfNullOrEmpty', () => {
    it('Example 1: IgnoreFlowIfNullOrEmpty([department]) drops the attribute when department is empty', () => {
      assert.deepEqual(run('IgnoreFlowIfNullOrEmpty([department])', { department: '' }), {
        ok: true,
        value: null,
        ignore: true,
        redact: false,
      });
      assert.equal(value('IgnoreFlowIfNullOrEmpty([department])', { department: 'Sales' }), 'Sales');
    });
    it('Example 2: a Switch that matches no key gives "" and the attribute is dropped', () => {
      const expression =
        'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))';
      assert.equal(value(expression, { prefix: '3444' }), 'Prof.');
      assert.deepEqual(run(expression, { prefix: '1234' }), { ok: true, value: null, ignore: true, redact: false });
    });
  });
  describe('IIF', () => {
    const and = 'IIF([country]="USA",IIF([state]="CA","True","False"),"False")';
    const or = 'IIF([country]="USA","True",IIF([state]="CA","True","False"))';
    examples([
      ['IIF([country]="USA",[country],[department])', { country: 'USA', department: 'Sales' }, 'USA'],
      ['IIF([country]="USA",[country],[department])', { country: 'Canada', department: 'Sales' }, 'Sales'],
      [and, { country: 'USA', state: 'CA' }, 'True'],
      [and, { country: 'USA', state: 'WA' }, 'False'],
      [and, { country: 'Canada', state: 'CA' }, 'False'],
      [or, { country: 'USA', state: 'WA' }, 'True'],
      [or, { country: 'Canada', state: 'CA' }, 'True'],
      [or, { country: 'Canada', state: 'BC' }, 'False'],
      // The recommended workaround for empty values.
      ['Switch([country],[country],"","Other")', { country: '' }, 'Other'],
      ['Switch([country],[country],"","Other")', {}, 'Other'],
      ['Switch([country],[country],"","Other")', { country: 'France' }, 'France'],
    ]);
  });
  describe('InStr', () => {
    examples([
      ['InStr("The quick brown fox","quick")', {}, 5],
      ['InStr("repEated","e",3,vbBinaryCompare)', {}, 7],
    ]);
  });
  describe('IsNull, IsNullOrEmpty, IsPresent', () => {
    examples([
      ['IsNull([displayName])', {}, true],
      ['IsNull([displayName])', { displayName: 'Ada' }, false],
      ['IsNullOrEmpty([displayName])', {}, true],
      ['IsNullOrEmpty([displayName])', { displayName: '' }, true],
      ['IsNullOrEmpty([displayName])', { displayName: 'Ada' }, false],
    ]);
    // Microsoft's IsPresent example is a Switch whose source is IsPresent([directManager]) and whose
    // keys are the other IsPresent results: Switch compares "True"/"False" strings.
    const expression =
      'Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),[skiplevelManager], IsPresent([director]),[director])';
    examples([
      [expression, { directManager: 'dm', skiplevelManager: 'sk', director: 'di' }, 'sk'],
      [expression, { directManager: 'dm', director: 'di' }, 'di'],
      [expression, { skiplevelManager: 'sk' }, null],
    ]);
  });
  describe('Item', () => {
    examples([
      [
        'Item([proxyAddresses], 1)',
        { proxyAddresses: ['SMTP:a@contoso.com', 'smtp:b@contoso.com'] },
        'SMTP:a@contoso.com',
      ],
    ]);
  });
  describe('Left', () => {
    examples([['Left("John Doe", 3)', {}, 'Joh']]);
  });
  describe('NormalizeDiacritics', () => {
    examples([['NormalizeDiacritics([givenName])', { givenName: 'Zoë' }, 'Zoe']]);
  });
  describe('Now', () => {
    examples([['Now()', {}, '7/2/2021 3:33:38 PM']], { now: Date.UTC(2021, 6, 2, 15, 33, 38) });
  });
  describe('NumFromDate', () => {
    // 2020-12-31 23:59:59-08:00 is 2021-01-01T07:59:59Z: (1609487999 s + 11644473600 s) × 10^7.
    examples([
      [
        'NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))',
        { ContractEndDate: '2020-12-31-08:00' },
        '132539615990000000',
      ],
      [
        'NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))',
        { endDate: '12/31/2020 12:00:00 AM' },
        '132539615990000000',
      ],
    ]);
  });
  describe('PCase', () => {
    examples([
      ['PCase([firstName])', { firstName: 'PABLO GONSALVES (SECOND)' }, 'Pablo Gonsalves (Second)'],
      ['PCase([lastName]," \'-")', { lastName: "PINTO-DE'SILVA" }, "Pinto-De'Silva"],
      ['PCase(Join(" ",[firstName],[lastName]))', { firstName: 'GREGORY', lastName: 'JAMES' }, 'Gregory James'],
    ]);
  });
  describe('RandomString', () => {
    const count = (text: string, pattern: RegExp) => [...text].filter((c) => pattern.test(c)).length;
    it('Example 1: RandomString(6,3,0,0,3) has 6 characters, at least 3 digits and 3 lower-case letters', () => {
      for (const seed of ['a', 'b', 'c', 'd', 'e']) {
        const text = String(value('RandomString(6,3,0,0,3)', {}, { random: seededRandom(seed) }));
        assert.equal(text.length, 6);
        assert.ok(count(text, /\d/) >= 3 && count(text, /[a-z]/) >= 3, text);
      }
    });
    it('Example 2: RandomString(10,2,2,2,1,"?,") has 10 characters with the minimums, and no ? or ,', () => {
      for (let seed = 0; seed < 50; seed++) {
        const text = String(value('RandomString(10,2,2,2,1,"?,")', {}, { random: seededRandom(String(seed)) }));
        assert.equal(text.length, 10);
        assert.ok(count(text, /\d/) >= 2, text);
        assert.ok(count(text, /[^A-Za-z0-9]/) >= 2, text);
        assert.ok(count(text, /[A-Z]/) >= 2, text);
        assert.ok(count(text, /[a-z]/) >= 1, text);
        assert.ok(!text.includes('?') && !text.includes(','), text);
      }
    });
  });
  describe('Redact', () => {
    it('returns the value and marks it to be kept out of logs', () => {
      assert.deepEqual(run('Redact([userPrincipalName])', { userPrincipalName: 'a@contoso.com' }), {
        ok: true,
        value: 'a@contoso.com',
        ignore: false,
        redact: true,
      });
      assert.deepEqual(run('Redact("StringToBeRedacted")'), {
        ok: true,
        value: 'StringToBeRedacted',
        ignore: false,
        redact: true,
      });
      const random = run('Redact(RandomString(6,3,0,0,3))', {}, { random: seededRandom('r') });
      assert.ok(random.ok && random.redact && String(random.value).length === 6);
    });
    it('keeps the values out of its error messages too', () => {
      const message = problem('Redact(Mid([secret], [start], 2))', { secret: 'hunter2', start: '0' });
      assert.ok(!message.includes('hunter2') && message.includes('Redact'), message);
    });
  });
  describe('RemoveDuplicates', () => {
    examples([
      [
        'RemoveDuplicates([proxyAddresses])',
        { proxyAddresses: ['SMTP:a@contoso.com', 'smtp:b@contoso.com', 'SMTP:a@contoso.com'] },
        ['SMTP:a@contoso.com', 'smtp:b@contoso.com'],
      ],
    ]);
  });
  describe('Replace', () => {
    const phone = '"\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})"';
    examples([
      [
        'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )',
        { BusinessTitle: 'Product Developer' },
        'Software Engineer',
      ],
      ['Replace([UserID],"<username>", , , , , "<username>@contoso.com")', { UserID: 'jsmith' }, 'jsmith@contoso.com'],
      [
        `Replace([telephoneNumber], , ${phone}, , "\${phoneNumber}", , )`,
        { telephoneNumber: '+91 9998887777' },
        '9998887777',
      ],
      // Microsoft's sample output is "19998887777", but the pattern's class [()\s-] has no "+": .NET
      // (and this implementation) keep it.
      ['Replace([mobile], , "[()\\\\s-]+", , "", , )', { mobile: '+1 (999) 888-7777' }, '+19998887777'],
      [
        'Replace([AddressLineData], ,"(?<streetNumber>^\\\\d*)","streetNumber", "888", , )',
        { AddressLineData: '545 Tremont Street' },
        '888 Tremont Street',
      ],
      [
        'Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )',
        { userPrincipalName: 'jsmith@contoso.com' },
        'jsmith',
      ],
      [
        `Replace([telephoneNumber], , ${phone}, "phoneNumber" , , [mobile], )`,
        { telephoneNumber: '', mobile: '+91 8887779999' },
        '8887779999',
      ],
      [
        `Replace([telephoneNumber], , ${phone}, "phoneNumber" , , [mobile], )`,
        { telephoneNumber: '+1 555', mobile: '+91 8887779999' },
        '+1 555',
      ],
      ['Replace([mailNickname], , "[a-zA-Z_]*", , "", , )', { mailNickname: 'john_doe72' }, '72'],
    ]);
  });
  describe('SelectUniqueValue', () => {
    const expression = `SelectUniqueValue(
        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"),
        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"),
        Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com")
    )`;
    const john = { PreferredFirstName: 'John', PreferredLastName: 'Smith' };
    const taken = (...values: string[]) => ({ isUnique: (candidate: string) => !values.includes(candidate) });
    examples([[expression, john, 'John.Smith@contoso.com']], taken());
    examples([[expression, john, 'J.Smith@contoso.com']], taken('John.Smith@contoso.com'));
    examples([[expression, john, 'Jo.Smith@contoso.com']], taken('John.Smith@contoso.com', 'J.Smith@contoso.com'));
    it('when every candidate is taken, the record fails (Entra escrows it)', () => {
      const message = problem(
        expression,
        john,
        taken('John.Smith@contoso.com', 'J.Smith@contoso.com', 'Jo.Smith@contoso.com'),
      );
      assert.match(message, /^target: SelectUniqueValue: every candidate is already taken/);
    });
    it('awaits an asynchronous isUnique one candidate at a time, in order', async () => {
      const asked: string[] = [];
      const result = await evaluateAsync(compiled(expression), john, {
        now: NOW,
        isUnique: async (candidate) => (asked.push(candidate), candidate.startsWith('J.')),
      });
      assert.deepEqual(result, { ok: true, value: 'J.Smith@contoso.com', ignore: false, redact: false });
      assert.deepEqual(asked, ['John.Smith@contoso.com', 'J.Smith@contoso.com']);
      assert.match(problem(expression, john, { isUnique: async () => true }), /use evaluateAsync/);
      assert.match(problem(expression, john), /needs a uniqueness check/);
    });
  });
  describe('Split', () => {
    examples([
      [
        'Split([extensionAttribute5], ",")',
        { extensionAttribute5: 'PermissionSetOne, PermissionSetTwo' },
        ['PermissionSetOne', 'PermissionSetTwo'],
      ],
    ]);
  });
  describe('Switch', () => {
    examples([
      [
        'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")',
        { state: 'QLD' },
        'Australia/Brisbane',
      ],
      [
        'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")',
        { state: 'WA' },
        'Australia/Sydney',
      ],
      ['Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")', { statusFlag: 'TRUE' }, '1'],
      ['Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")', { statusFlag: 'False' }, '0'],
      ['Switch([statusFlag], "Default Value", "true", "1", "", "0")', { statusFlag: '' }, '0'],
      ['Switch([statusFlag], "Default Value", "true", "1", "", "0")', { statusFlag: 'TRUE' }, 'Default Value'],
      // The CAUTION's IIF rewrite gives the same values as the Switch it replaces.
      ['switch([companyName], "External", "Company A", "A", "Company B", "B")', { companyName: 'Company B' }, 'B'],
      [
        'IIF([companyName] = "Company A", "A", IIF([companyName] = "Company B", "B", "External"))',
        { companyName: 'Company B' },
        'B',
      ],
      [
        'IIF([companyName] = "Company A", "A", IIF([companyName] = "Company B", "B", "External"))',
        { companyName: 'Other' },
        'External',
      ],
    ]);
  });
  describe('ToLower', () => {
    examples([
      [
        'ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"))',
        { PreferredFirstName: 'John', PreferredLastName: 'Smith' },
        'john.smith@contoso.com',
      ],
    ]);
  });
  describe('Word', () => {
    examples([
      ['Word("The quick brown fox",3," ")', {}, 'brown'],
      ['Word("This,string!has&many separators",3,",!&#")', {}, 'has'],
    ]);
  });
  describe('the reference\'s "Examples" section', () => {
    examples([
      ['Replace([mail], "@contoso.com", , ,"", ,)', { mail: 'john.doe@contoso.com' }, 'john.doe'],
      ['Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))', { givenName: 'John', surname: 'Doe' }, 'JohDoe'],
      ['Join(", ", "", [surname], [givenName])', { givenName: 'John', surname: 'Doe' }, 'Doe, John'],
      // Today's page shows a placeholder objectId; the output is for the id earlier revisions showed.
      [
        'Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))',
        { objectId: 'd05e47b1-3909-445a-ba5e-ca60cbc0e4b4' },
        '100064303565343762312333930392343435612626135652636136306362633065346234',
      ],
    ]);
  });
});

describe('behaviour the reference leaves open (our choices, documented in docs/mappings.md)', () => {
  examples([
    // Null handling: an absent or empty column is null; functions over a null source give null,
    // except where Microsoft documents otherwise (Left, Word give "").
    ['Append([missing], ".test")', {}, null],
    ['Left([missing], 3)', {}, ''],
    ['Word([missing], 1, " ")', {}, ''],
    ['Left("John", 0)', {}, ''],
    ['Left("John", -1)', {}, 'John'],
    ['Left("Jo", 5)', {}, 'Jo'],
    ['Mid("John Doe", 6, 10)', {}, 'Doe'],
    ['Mid("John", 9, 2)', {}, ''],
    ['Word("a  b", 2, " ")', {}, 'b'],
    ['Word("a b", 0, " ")', {}, ''],
    ['Word("a b", 3, " ")', {}, ''],
    // IIF evaluates only the branch it returns, so Microsoft's "unsupported" IIF-over-empty forms give the obvious value.
    ['IIF(IsNullOrEmpty([country]),"Other",[country])', {}, 'Other'],
    ['IIF(IsPresent([country]),[country],"Other")', { country: 'Peru' }, 'Peru'],
    ['IIF([country]="","Other",[country])', {}, 'Other'],
    // Comparisons: numbers numerically, strings ordinally and case-sensitively.
    ['IIF([age] > 9, "adult", "child")', { age: '10' }, 'adult'],
    ['IIF([a] >= [b], "yes", "no")', { a: 'b', b: 'a' }, 'yes'],
    ['IIF([a] <> [b], "yes", "no")', { a: 'x', b: 'X' }, 'yes'],
    ['IIF(CDate([d]) < Now(), "past", "future")', { d: '2020-01-01' }, 'past'],
    ['IIF(IsPresent([a]) = "True", "yes", "no")', { a: 'x' }, 'yes'],
    ['Coalesce([a], [b], "default")', {}, 'default'],
    ['Coalesce([a], [b], "default")', { b: 'B' }, 'B'],
    ['Coalesce([a])', {}, null],
    ['Count([proxyAddresses])', { proxyAddresses: ['a', 'b', 'c'] }, 3],
    ['Count([proxyAddresses])', { proxyAddresses: 'a' }, 1],
    ['Count([proxyAddresses])', {}, 0],
    ['Item([proxyAddresses], 3)', { proxyAddresses: ['a', 'b'] }, null],
    ['Join(",", [proxyAddresses], "x")', { proxyAddresses: ['a', 'b'] }, 'a,b,x'],
    ['Join(",", [a], [b])', {}, ''],
    ['IsString([a])', { a: 'x' }, true],
    ['IsString([a])', { a: 7 }, false],
    ['IsString([a])', {}, false],
    ['CStr([n])', { n: 42 }, '42'],
    ['CStr(IsNull([a]))', {}, 'True'],
    ['CBool("0")', {}, false],
    ['CBool("17")', {}, true],
    ['CBool("true")', {}, true],
    ['Not("True")', {}, false],
    ['Not("False")', {}, true],
    ['Not(IsPresent([a]))', {}, true],
    ['Not([a])', {}, true], // "If source value is True, returns False. Otherwise, returns True."
    ['StripSpaces(" a b  c ")', {}, 'abc'],
    ['Split([groups], ";")', { groups: 'a;b' }, ['a', 'b']],
    ['ToUpper("istanbul", "tr-TR")', {}, 'İSTANBUL'],
    ['ToUpper("istanbul")', {}, 'ISTANBUL'],
    ['ToLower("TITLE", "tr-TR")', {}, 'tıtle'],
    ['ToUpper("straße")', {}, 'STRAßE'], // .NET maps one character to one
    ['InStr("repEated","e",3,vbTextCompare)', {}, 4],
    ['InStr("abc","z")', {}, 0],
    ['InStr("abc","")', {}, 1],
    ['BitAnd([flags], 2)', { flags: '514' }, 2],
    ['AssertNotNull([a])', { a: 'x' }, 'x'],
    ['ConvertToUTF8Hex("é€")', {}, 'C3A9E282AC'],
    ['ConvertToBase64("é")', {}, '6QA='],
    ['DateAdd("m", 1, CDate("2021-01-31"))', {}, '2/28/2021 12:00:00 AM'], // .NET AddMonths clamps to the month's end
    ['DateAdd("yyyy", 1, CDate("2020-02-29"))', {}, '2/28/2021 12:00:00 AM'],
    ['DateAdd("h", 36, CDate("2021-01-01"))', {}, '1/2/2021 12:00:00 PM'],
    ['DateAdd("n", -1, CDate("2021-01-01"))', {}, '12/31/2020 11:59:00 PM'],
    ['DateAdd("s", 61, "2021-01-01")', {}, '1/1/2021 12:01:01 AM'],
    ['DateAdd("q", 1, CDate("2021-01-15"))', {}, '4/15/2021 12:00:00 AM'],
    ['DateDiff("d", "2021-08-24T23:00:00Z", "2021-08-25T01:00:00Z")', {}, 0], // whole elapsed days, as VBA's DateDiff
    ['DateDiff("yyyy", "2021-12-31", "2022-01-01")', {}, 1], // calendar years crossed
    ['DateDiff("m", "2021-01-31", "2021-02-01")', {}, 1],
    ['DateDiff("ww", "2021-08-21", "2021-08-22")', {}, 1], // a Saturday to the next Sunday crosses a week
    ['DateDiff("w", "2021-08-21", "2021-08-22")', {}, 0],
    ['NumFromDate("2012-01-01T23:00:00Z")', {}, '129699324000000000'],
    ['PCase("hello wORLD-wide o\'neil 3rd")', {}, "Hello World-Wide O'neil 3Rd"], // .NET ToTitleCase's word rules
    ['NormalizeDiacritics("Łódź Straße Ærø Œ̄ ŵ")', {}, 'Lodz Strasse AEroe OE ŵ'], // only the published table
    ['NormalizeDiacritics("Zoe\u0308")', {}, 'Zoe'], // decomposed input
  ]);
  it("NormalizeDiacritics maps every character of Microsoft's table", () => {
    const table: Array<[string, string]> = [
      ['äàâãåáąăāǟǡ', 'aaaaaaaaaaa'],
      ['ÄÀÂÃÅÁĄĂĀǞǠ', 'AAAAAAAAAAA'],
      ['çčć', 'ccc'],
      ['ëèéêęěėēḗḕ', 'eeeeeeeeee'],
      ['ğḡ', 'gg'],
      ['ïîìíıī', 'iiiiii'],
      ['ÏÎÌÍİĪ', 'IIIIII'],
      ['ľłḹḻ', 'llll'],
      ['ñńňṉ', 'nnnn'],
      ['öòőõôóōṓṑȫǭȭȱ', 'ooooooooooooo'],
      ['řṟṝ', 'rrr'],
      ['šśșş', 'ssss'],
      ['ťțṯ', 'ttt'],
      ['üùûúůűūǖṻ', 'uuuuuuuuu'],
      ['ÿýȳ', 'yyy'],
      ['źžżẕ', 'zzzz'],
      ['ŹŽŻẔ', 'ZZZZ'],
    ];
    for (const [from, to] of table) assert.equal(value(`NormalizeDiacritics("${from}")`), to, from);
  });
  it('reads dotted paths into JSON objects and lists of values', () => {
    assert.equal(value('Append([manager.value], "!")', { manager: { value: 'm-1' } }), 'm-1!');
    assert.match(problem('Append([manager], "!")', { manager: { value: 'm-1' } }), /object; name a field inside it/);
  });
  it('refuses a list where a single value is expected, naming the function', () => {
    assert.equal(
      problem('Append([proxyAddresses], "x")', { proxyAddresses: ['a', 'b'] }),
      "target: Append's source takes a single value, got a list of 2 values",
    );
  });
  it('evaluation problems name the entry, the function and the value', () => {
    assert.equal(problem('Mid([a], [b], 2)', { a: 'John', b: '0' }), 'target: Mid: start counts from 1, got 0');
    assert.equal(
      problem('CDate([d])', { d: 'soon' }),
      'target: CDate: "soon" is not a date CDate can read (e.g. 2020-03-16, 2009-06-15T01:45:30-07:00, 3/16/2020 7:00:00 AM)',
    );
    assert.match(
      problem('FormatDateTime([d], , "yyyy-MM-dd", "dd.MM.yyyy")', { d: '2021/01/02' }),
      /FormatDateTime: "2021\/01\/02" does not match the date format "yyyy-MM-dd": expected "-" at character 5/,
    );
    assert.equal(problem('AssertNotNull([a])'), 'target: AssertNotNull: the value is null or empty');
    assert.match(problem('DateFromNum(9223372036854775807)'), /after the year 9999/);
    assert.match(
      problem('Replace([a], , [pattern], , "", , )', { a: 'x', pattern: '(' }),
      /is not a regular expression/,
    );
  });
});

describe('FormatDateTime: .NET format strings', () => {
  const at = { d: '2009-06-15T13:45:30.6175425Z' };
  const format = (output: string, input = at.d, inputFormat = 'yyyy-MM-ddTHH:mm:ss.fffffffK') =>
    value(`FormatDateTime([d], , "${inputFormat}", "${output}")`, { d: input });
  it('custom specifiers', () => {
    assert.equal(format('yyyy-MM-dd HH:mm:ss.fff'), '2009-06-15 13:45:30.617');
    assert.equal(format('fffffff FFFF'), '6175425 6175');
    assert.equal(format('d/M/yy h:m:s tt'), '15/6/09 1:45:30 PM');
    assert.equal(format('ddd dddd MMM MMMM'), 'Mon Monday Jun June');
    assert.equal(format('yyyy-MM-ddTHH:mm:ssK'), '2009-06-15T13:45:30Z');
    assert.equal(format('zzz|zz|z'), '+00:00|+00|+0');
    assert.equal(format("'Day' d \\\\a\\\\t h t"), 'Day 15 at 1 P'); // \\a\\t: escaped letters
    assert.equal(format('%d'), '15');
    assert.equal(format('ss.FFF', '2009-06-15T13:45:30.0000000Z'), '30');
  });
  it('standard formats (invariant culture)', () => {
    assert.equal(format('d'), '06/15/2009');
    assert.equal(format('D'), 'Monday, 15 June 2009');
    assert.equal(format('g'), '06/15/2009 13:45');
    assert.equal(format('G'), '06/15/2009 13:45:30');
    assert.equal(format('o'), '2009-06-15T13:45:30.6175425Z');
    assert.equal(format('r'), 'Mon, 15 Jun 2009 13:45:30 GMT');
    assert.equal(format('s'), '2009-06-15T13:45:30');
    assert.equal(format('u'), '2009-06-15 13:45:30Z');
    assert.equal(format('t'), '13:45');
    assert.equal(format('Y'), '2009 June');
  });
  it('reads offsets into UTC, month names, AM/PM and two-digit years', () => {
    assert.equal(format('yyyy-MM-dd HH:mm', '2021-06-30T01:00:00+08:00', 'yyyy-MM-ddTHH:mm:sszzz'), '2021-06-29 17:00');
    assert.equal(format('yyyy-MM-dd', '15 June 2009', 'd MMMM yyyy'), '2009-06-15');
    assert.equal(format('HH:mm', '12/31/2020 12:30:00 AM', 'M/d/yyyy hh:mm:ss tt'), '00:30');
    assert.equal(format('yyyy', '49', 'yy'), '2049');
    assert.equal(format('yyyy', '50', 'yy'), '1950');
    assert.equal(format('yyyy-MM-dd HH:mm', '  2021-01-02 03:04  ', 'yyyy-MM-dd HH:mm'), '2021-01-02 03:04');
  });
  it('a time-only input takes the date of Now(), as .NET does', () => {
    assert.equal(format('yyyy-MM-dd HH:mm', '07:30', 'HH:mm'), '2021-08-25 07:30');
  });
});

describe('compile-time errors: syntax, with the character position and what was expected', () => {
  const cases: Array<[string, number, string, string?]> = [
    [
      'Append([a], "x"',
      16,
      ', or ) in the arguments of Append(…) (started at character 1)',
      'the end of the expression',
    ],
    ['Append([a] "x")', 12, ', or ) in the arguments of Append(…) (started at character 1)', 'the string "x"'],
    ['Append([a], "x)', 16, 'a closing " for the string that starts at character 13', 'the end of the expression'],
    ['Append([a, "x")', 16, 'a closing ] for the column that starts at character 8', 'the end of the expression'],
    ['Append([], "x")', 9, 'a column name between [ and ]', '"]"'],
    ['Append("\\d", "x")', 9, '\\\\ or \\" after a backslash in a string (write a backslash as \\\\)', '\\d'],
    ['IIF([a] == "b", "1", "2")', 9, '= (one equals sign compares)', '"=="'],
    ['IIF([a] != "b", "1", "2")', 9, '<> (not equal is written <>)', '"!="'],
    ['IIF([a] = "b" = "c", "1", "2")', 15, ', or ) in the arguments of IIF(…) (started at character 1)', '"="'],
    ['[a] = "b" = "c"', 11, 'one comparison only (IIF takes no AND/OR: nest IIF instead)', '"="'],
    [
      'Append',
      7,
      '( after the function name Append (a column is written [Append], a string "Append")',
      'the end of the expression',
    ],
    ['Append([a], "x") Append([b], "y")', 18, 'the end of the expression', '"Append"'],
    ['', 1, 'a function call, a [column], a "string" or a number', 'the end of the expression'],
    ['Append([a], @)', 13, 'a function call, a [column], a "string" or a number', '"@"'],
    ['BitAnd(&HZ, 1)', 10, 'hexadecimal digits after &H (e.g. &HF7)', '"Z"'],
  ];
  for (const [text, position, expected, found] of cases)
    it(`${JSON.stringify(text)}: character ${position}`, () => {
      const [error] = compileErrors(text);
      assert.equal(error.entry, 'userName');
      assert.equal(error.expected, expected);
      assert.equal(error.position, position);
      if (found !== undefined) assert.equal(error.found, found);
      assert.ok(error.message.startsWith(`userName: expression error at character ${position}`), error.message);
    });
  it('multi-line expressions also give the line and column', () => {
    const [error] = compileErrors('Join(" ",\n  [a],\n  [b] [c])');
    assert.deepEqual([error.position, error.line, error.column], [24, 3, 7]);
    assert.match(error.message, /character 24 \(line 3, column 7\)/);
  });
});

describe('compile-time errors: refused before anything is sent', () => {
  const first = (text: string, columns?: string[]) => compileErrors(text, columns)[0];
  it('an unknown function, with a suggestion', () => {
    const error = first('Joinn(" ", [a])');
    assert.equal(error.expected, 'a known function (did you mean Join?)');
    assert.equal(error.found, 'Joinn');
    assert.equal(error.position, 1);
    assert.equal(first('Foo([a])').expected, 'a known function'); // nothing close enough to suggest
  });
  it("the app-role functions, which need Entra's directory", () => {
    for (const name of Object.keys(LEFT_OUT)) {
      const error = first(`${name}([appRoleAssignments])`);
      assert.match(error.expected, /left out because it reads a user's app role assignments/);
    }
  });
  it('a wrong argument count, naming the signature', () => {
    const error = first('Join(" ", Mid([a], 1))');
    assert.equal(error.expected, '3 arguments for Mid(source, start, length)');
    assert.equal(error.found, '2 arguments');
    assert.equal(error.position, 11);
    assert.equal(first('Guid(1)').expected, '0 arguments for Guid()');
    assert.equal(
      first('SelectUniqueValue([a])').expected,
      'at least 2 arguments for SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, …)',
    );
    assert.equal(
      first('Switch([a], "d", "k")').expected,
      'at least 4 arguments for Switch(source, defaultValue, key1, value1, key2, value2, …)',
    );
  });
  it("an unknown column, when the source's columns are known", () => {
    const errors = compileErrors('Join(" ", [First_Name], [last_name], [dept])', ['first_name', 'last_name']);
    assert.deepEqual(
      errors.map((e) => [e.position, e.expected, e.found]),
      [
        [11, 'a column of the source (did you mean first_name?)', '[First_Name]'],
        [38, 'a column of the source', '[dept]'],
      ],
    );
  });
  it('an argument left empty where the function needs it', () => {
    assert.equal(first('Append([a], )').expected, 'argument 2 of Append(source, suffix) (it cannot be left empty)');
    assert.equal(
      first('Switch([a], "d", , "v")').expected,
      'argument 3 of Switch(source, defaultValue, key1, value1, key2, value2, …) (it cannot be left empty)',
    );
  });
  it('literal arguments checked once: formats, intervals, patterns, cultures, Switch pairs, Replace forms', () => {
    assert.match(first('Switch([a], "d", "k1", "v1", "k2")').expected, /^an even number of arguments/);
    assert.match(first('Switch([a], "d", "k1", "v1", "k2", "v2", "k3")').expected, /^an even number of arguments/);
    assert.match(
      first('FormatDateTime([d], , "yyyy-MM-dd", "Q")').expected,
      /^a \.NET date format: "Q" is not a standard format/,
    );
    assert.match(first('FormatDateTime([d], , "yyyy \'MM", "d")').expected, /a closing ' in the date format/);
    assert.match(first('FormatDateTime([d], "Sometimes", "yyyy", "d")').expected, /^DateTimeStyles names/);
    assert.match(first('DateAdd("days", 1, Now())').expected, /^an interval: yyyy \(year\)/);
    assert.match(first('Replace([a], , "(", , "", , )').expected, /^a regular expression/);
    assert.match(first('Replace([a], "x", "y", , "", , )').expected, /^one of the documented argument forms/);
    assert.match(first('Replace([a], "x", , , , , )').expected, /^one of the documented argument forms/);
    assert.match(first('ToUpper([a], "not a culture!")').expected, /^a culture name/);
    assert.match(first('RandomString(5, 3, 3, 0, 0)').expected, /^a Length of at least 6/);
    assert.match(first('RandomString(300, 1, 1, 1, 1)').expected, /^a Length of at most 256/);
    assert.match(first('Mid([a], 0, 1)').expected, /^a start of 1 or more/);
    assert.match(first('Item([a], 0)').expected, /^an index of 1 or more/);
    assert.match(first('Split([a], "")').expected, /^a delimiter that is not empty/);
  });
  it('SelectUniqueValue only as the whole expression', () => {
    assert.equal(
      first('ToLower(SelectUniqueValue([a], [b]))').expected,
      'SelectUniqueValue only as the whole expression (Entra does not allow it nested)',
    );
  });
  it('every error at once, in text order', () => {
    const errors = compileErrors('Join(" ", Foo([a]), Mid([b]), [c])', ['a', 'b']);
    assert.deepEqual(
      errors.map((e) => e.position),
      [11, 21, 31],
    );
  });
  it('function names in any case, as Entra accepts them', () => {
    assert.equal(value('iif([a]="x", "yes", "no")', { a: 'x' }), 'yes');
    assert.equal(value('JOIN("-", "a", "b")'), 'a-b');
  });
});

describe('the function table', () => {
  it("covers every function in Microsoft's list except the two that need Entra's directory", () => {
    const documented = [
      'Append',
      'AppRoleAssignmentsComplex',
      'AssertNotNull',
      'BitAnd',
      'CBool',
      'CDate',
      'Coalesce',
      'ConvertToBase64',
      'ConvertToUTF8Hex',
      'Count',
      'CStr',
      'DateAdd',
      'DateDiff',
      'DateFromNum',
      'FormatDateTime',
      'Guid',
      'IgnoreFlowIfNullOrEmpty',
      'IIF',
      'InStr',
      'IsNull',
      'IsNullOrEmpty',
      'IsPresent',
      'IsString',
      'Item',
      'Join',
      'Left',
      'Mid',
      'NormalizeDiacritics',
      'Not',
      'Now',
      'NumFromDate',
      'PCase',
      'RandomString',
      'Redact',
      'RemoveDuplicates',
      'Replace',
      'SelectUniqueValue',
      'SingleAppRoleAssignment',
      'Split',
      'StripSpaces',
      'Switch',
      'ToLower',
      'ToUpper',
      'Word',
    ];
    const implemented = [...FUNCTIONS.values()].map((f) => f.name);
    assert.deepEqual(
      documented.filter((name) => !implemented.includes(name)),
      Object.keys(LEFT_OUT),
    );
    assert.deepEqual(
      implemented.filter((name) => !documented.includes(name)),
      [],
    );
  });
});

describe('determinism', () => {
  const expression = 'Join("|", Now(), Guid(), RandomString(12, 2, 2, 2, 2))';
  it('the same instant and seed give the same value, every time (what a retry of a planned record sends)', () => {
    const c = compiled(expression);
    const once = evaluate(c, {}, { now: NOW, random: seededRandom('run-1/record-42') });
    const again = evaluate(c, {}, { now: NOW, random: seededRandom('run-1/record-42') });
    assert.deepEqual(once, again);
    const other = evaluate(c, {}, { now: NOW, random: seededRandom('run-1/record-43') });
    assert.notDeepEqual(once, other);
  });
  it('marks the expressions whose value depends on the moment or on chance', () => {
    assert.equal(compiled(expression).volatile, true);
    assert.equal(compiled('Redact(Now())').volatile, true);
    assert.equal(compiled('Join(" ", [a], [b])').volatile, false);
  });
  it('never reaches for a clock or a random source of its own', () => {
    assert.match(problem('Guid()'), /need a random generator in the evaluation context/);
    assert.match(problem('RandomString(4, 1, 1, 1, 1)'), /need a random generator/);
    assert.equal(value('Now()', {}, { now: '2000-01-01T00:00:00Z' }), '1/1/2000 12:00:00 AM');
    assert.equal(value('Now()', {}, { now: new Date(Date.UTC(2000, 0, 1, 12)) }), '1/1/2000 12:00:00 PM');
  });
  it('a compiled expression is plain data: it survives JSON (a workflow input) and evaluates the same', () => {
    const c = compiled('SelectUniqueValue(Join(".", [a], [b]), Join(".", Left([a], 1), [b]))');
    const copy = JSON.parse(JSON.stringify(c)) as CompiledExpression;
    const context = { now: NOW, isUnique: (v: string) => v !== 'Ada.Lovelace' };
    assert.deepEqual(
      evaluate(copy, { a: 'Ada', b: 'Lovelace' }, context),
      evaluate(c, { a: 'Ada', b: 'Lovelace' }, context),
    );
    assert.deepEqual(c.columns, ['a', 'b']);
    assert.equal(c.selectsUnique, true);
  });
  it('seededRandom draws uniformly enough in [0, 1)', () => {
    const random = seededRandom('x');
    const draws = Array.from({ length: 10_000 }, random);
    assert.ok(draws.every((d) => d >= 0 && d < 1));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, String(mean));
  });
});
