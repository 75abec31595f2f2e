import { counter, gauge } from '../../metric-families.js';

const L = ['device'] as const;

export const receiveBytes = counter(
  'watchpost_network_receive_bytes_total',
  'Bytes received on the interface, as the kernel counts them since the interface appeared.',
  L,
);
export const transmitBytes = counter(
  'watchpost_network_transmit_bytes_total',
  'Bytes sent on the interface, as the kernel counts them since the interface appeared.',
  L,
);
export const receivePackets = counter(
  'watchpost_network_receive_packets_total',
  'Packets received on the interface; absent where the source has no packet counters (systeminformation).',
  L,
);
export const transmitPackets = counter(
  'watchpost_network_transmit_packets_total',
  'Packets sent on the interface; absent where the source has no packet counters (systeminformation).',
  L,
);
export const receiveErrors = counter(
  'watchpost_network_receive_errors_total',
  'Received packets the driver counted as errors (CRC, frame, FIFO overrun).',
  L,
);
export const transmitErrors = counter(
  'watchpost_network_transmit_errors_total',
  'Packets the driver failed to send (carrier, FIFO, heartbeat errors).',
  L,
);
export const receiveDrops = counter(
  'watchpost_network_receive_drops_total',
  'Received packets dropped before the network stack took them (no buffer, unknown protocol).',
  L,
);
export const transmitDrops = counter(
  'watchpost_network_transmit_drops_total',
  'Packets dropped on the way out (a full queue).',
  L,
);
export const linkUp = gauge(
  'watchpost_network_link_up',
  'Whether the interface has a link (1) or not (0): operational state up, or unknown with a carrier; 0 for an expected interface that does not exist.',
  L,
);
export const speedBytes = gauge(
  'watchpost_network_speed_bytes',
  'Negotiated link speed in bytes per second; absent when the driver does not know it (virtual interfaces, links that are down).',
  L,
);
export const interfaceExpected = gauge(
  'watchpost_network_interface_expected',
  'Always 1, for each interface listed in collectors.network.expected: NetworkInterfaceDown fires when one has no link.',
  L,
);

export const FAMILIES = [
  receiveBytes,
  transmitBytes,
  receivePackets,
  transmitPackets,
  receiveErrors,
  transmitErrors,
  receiveDrops,
  transmitDrops,
  linkUp,
  speedBytes,
  interfaceExpected,
];
