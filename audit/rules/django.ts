import { envValue, isDjango, truthy } from '../images.js';
import { perService, type Rule } from '../types.js';

export const djangoDebug: Rule = {
  id: 'django-debug',
  severity: 'error',
  title: 'Django with DEBUG on',
  rationale:
    'With DEBUG=True every error page shows settings, environment variables, SQL and source code to whoever triggers it, and Django keeps every query in memory.',
  fix: 'Set DEBUG=False (or remove it, if the settings default to False) in production; use logging and an error tracker instead.',
  check: perService((svc) => {
    if (!isDjango(svc)) return undefined;
    const e = envValue(svc, 'DEBUG', 'DJANGO_DEBUG');
    if (!e || !truthy(e.value)) return undefined;
    return { pos: e.via ?? e.pos, service: svc.name, message: `${e.key} is on in a Django service` };
  }),
};

export const djangoAllowedHosts: Rule = {
  id: 'django-allowed-hosts',
  severity: 'error',
  title: 'Django with ALLOWED_HOSTS=*',
  rationale:
    'ALLOWED_HOSTS is Django\'s defence against Host-header attacks (poisoned password-reset links, cache poisoning); "*" turns it off.',
  fix: 'List the host names the site answers to: ALLOWED_HOSTS=shop.example.com,www.shop.example.com.',
  check: perService((svc) => {
    if (!isDjango(svc)) return undefined;
    const e = envValue(svc, 'ALLOWED_HOSTS', 'DJANGO_ALLOWED_HOSTS');
    if (!e || !(e.value ?? '').split(/[\s,]+/).includes('*')) return undefined;
    return { pos: e.via ?? e.pos, service: svc.name, message: `${e.key} allows any host ("*")` };
  }),
};
