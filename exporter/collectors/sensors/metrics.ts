import { gauge } from '../../metric-families.js';

const L = ['chip', 'sensor', 'kind'] as const;

export const temperature = gauge(
  'watchpost_temperature_celsius',
  'Temperature of a hardware sensor in degrees Celsius; kind is cpu, disk or other. No series where the host has no sensor.',
  L,
);
export const threshold = gauge(
  'watchpost_temperature_alert_threshold_celsius',
  "Temperature above which HostTemperatureHigh fires for the sensor: the configured threshold of its kind, else the chip's max, else its crit, else 90 for a CPU and 60 for a disk; absent when none applies.",
  L,
);

export const FAMILIES = [temperature, threshold];
