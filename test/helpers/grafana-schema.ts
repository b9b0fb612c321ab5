// Checks a Grafana dashboard JSON against Grafana's own dashboard schema, as the @grafana/schema
// package publishes it (TypeScript types generated from Grafana's CUE schema): the JSON is
// compiled as an object literal of that type, so a missing required field, a field Grafana does
// not know (excess property) or a value outside an enumeration is a compile error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

/** The compiler's complaints (`line N: message`), none when the dashboard fits the schema. */
export function dashboardSchemaErrors(dashboardJson: string, schemaTypesFile: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grafana-dashboard-'));
  try {
    const file = path.join(dir, 'dashboard.ts');
    const source = [
      "import type { Dashboard } from '@grafana/schema';",
      // In JSON an enum-typed field (e.g. ThresholdsMode) holds the enum's string value.
      'type Json<T> = T extends string ? `${T}` : T extends Array<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;',
      `export const dashboard: Json<Dashboard> = ${dashboardJson};`,
    ].join('\n');
    fs.writeFileSync(file, source);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      baseUrl: dir,
      paths: { '@grafana/schema': [schemaTypesFile] },
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line - 1 : undefined;
      return `${line !== undefined ? `dashboard line ${line}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
