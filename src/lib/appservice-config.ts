// Reads APPSERVICE_CONFIG_FILES: Synapse-format registration YAML files, checked at start-up.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseAppServiceRegistration, type AppService } from '../domain/appservices.js';

export class AppServiceConfigError extends Error {}

export function loadAppServices(files: readonly string[]): AppService[] {
  const services: AppService[] = [];
  for (const file of files) {
    let service: AppService;
    try {
      service = parseAppServiceRegistration(parse(readFileSync(file, 'utf8')));
    } catch (err) {
      throw new AppServiceConfigError(`APPSERVICE_CONFIG_FILES: ${file}: ${(err as Error).message}`);
    }
    if (services.some((s) => s.id === service.id)) {
      throw new AppServiceConfigError(`APPSERVICE_CONFIG_FILES: ${file}: duplicate application service id "${service.id}"`);
    }
    if (services.some((s) => s.asToken === service.asToken)) {
      throw new AppServiceConfigError(`APPSERVICE_CONFIG_FILES: ${file}: as_token is shared with another application service`);
    }
    services.push(service);
  }
  return services;
}
