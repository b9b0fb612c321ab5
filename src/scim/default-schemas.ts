// The RFC 7643 schemas assumed for a provider that publishes no /Schemas (§8.7.1 core User, §4.3
// enterprise extension), so that records are still checked before anything is sent. Lenient on
// purpose: no canonical values, only `userName` required; the provider's answer is the judge.
import type { AttributeDefinition } from './codecs';
import { URN } from './urns';

const attr = (
  name: string,
  type: AttributeDefinition['type'] = 'string',
  extra: Partial<AttributeDefinition> = {},
): AttributeDefinition => ({ name, type, multiValued: false, mutability: 'readWrite', ...extra });

/** `{value, display, type, primary}` of the RFC's multi-valued attributes. */
const multi = (name: string, more: AttributeDefinition[] = []): AttributeDefinition =>
  attr(name, 'complex', {
    multiValued: true,
    subAttributes: [attr('value'), attr('display'), attr('type'), attr('primary', 'boolean'), ...more],
  });

const CORE_USER: AttributeDefinition[] = [
  attr('userName', 'string', { required: true, uniqueness: 'server' }),
  attr('name', 'complex', {
    subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map(
      (n) => attr(n),
    ),
  }),
  ...['displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone'].map(
    (n) => attr(n),
  ),
  attr('active', 'boolean'),
  attr('password', 'string', { mutability: 'writeOnly', returned: 'never' }),
  multi('emails'),
  multi('phoneNumbers'),
  multi('ims'),
  multi('photos'),
  attr('addresses', 'complex', {
    multiValued: true,
    subAttributes: ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type']
      .map((n) => attr(n))
      .concat(attr('primary', 'boolean')),
  }),
  attr('groups', 'complex', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [attr('value'), attr('$ref', 'reference'), attr('display'), attr('type')],
  }),
  multi('entitlements'),
  multi('roles'),
  multi('x509Certificates'),
];

const ENTERPRISE_USER: AttributeDefinition[] = [
  ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) => attr(n)),
  attr('manager', 'complex', {
    subAttributes: [
      attr('value'),
      attr('$ref', 'reference'),
      attr('displayName', 'string', { mutability: 'readOnly' }),
    ],
  }),
];

/** A GET /Schemas body (ListResponse) with the core User and the enterprise extension. */
export function defaultSchemasBody(): Record<string, unknown> {
  const Resources = [
    { schemas: [URN.Schema], id: URN.User, name: 'User', attributes: CORE_USER },
    { schemas: [URN.Schema], id: URN.EnterpriseUser, name: 'EnterpriseUser', attributes: ENTERPRISE_USER },
  ];
  return { schemas: [URN.ListResponse], totalResults: Resources.length, Resources };
}
