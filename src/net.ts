// IPv4 address arithmetic for config validation.

export interface ParsedCidr {
    error?: string;
    base?: number;
    prefix?: number;
}

function parseIp(ip: string): number | undefined {
    const parts = ip.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function formatIp(n: number): string {
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

function split(cidr: string): { ip?: number; prefix?: number; error?: string } {
    const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr.trim());
    if (!m) return { error: "missing /prefix" };
    const ip = parseIp(m[1]);
    if (ip === undefined) return { error: `"${m[1]}" is not an IPv4 address` };
    const prefix = Number(m[2]);
    if (prefix > 32) return { error: `prefix /${prefix} is larger than 32` };
    return { ip, prefix };
}

const blockSize = (prefix: number) => 2 ** (32 - prefix);

/** A network in CIDR form: a.b.c.d/n with no host bits set. */
export function parseCidr(cidr: string): ParsedCidr {
    const s = split(cidr);
    if (s.error) return { error: s.error };
    if (s.ip! % blockSize(s.prefix!) !== 0) {
        const base = s.ip! - (s.ip! % blockSize(s.prefix!));
        return { error: `host bits are set (did you mean ${formatIp(base)}/${s.prefix}?)` };
    }
    return { base: s.ip, prefix: s.prefix };
}

/** An interface address with its prefix, e.g. 10.77.0.1/24; returns the network it sits in. */
export function parseInterfaceAddress(addr: string): { error?: string; network?: string } {
    const s = split(addr);
    if (s.error) return { error: s.error };
    if (s.prefix! > 30) return { error: `prefix /${s.prefix} leaves no room for three machines` };
    const base = s.ip! - (s.ip! % blockSize(s.prefix!));
    return { network: `${formatIp(base)}/${s.prefix}` };
}

/** Whether network `inner` lies entirely inside network `outer`. Both must be valid. */
export function isInside(inner: string, outer: string): boolean {
    const a = parseCidr(inner);
    const b = parseCidr(outer);
    if (a.error || b.error) return false;
    return a.prefix! >= b.prefix! && a.base! - (a.base! % blockSize(b.prefix!)) === b.base;
}

export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

export function isPrivateCidr(cidr: string): boolean {
    return PRIVATE_RANGES.some((r) => isInside(cidr, r));
}

/** The network of the same size `index` blocks after `cidr` (10.42.1.0/24, 2 -> 10.42.3.0/24): a zone's subnet. */
export function subnetInside(cidr: string, index: number): string {
    const c = parseCidr(cidr);
    return `${formatIp(c.base! + index * blockSize(c.prefix!))}/${c.prefix}`;
}

/** The address `offset` after `address` (10.77.0.21, 2 -> 10.77.0.23). */
export function nextAddress(address: string, offset: number): string {
    return formatIp(parseIp(address)! + offset);
}

/** Whether an address is the network address or the broadcast address of `network` (no machine may have those). */
export function isNetworkOrBroadcast(address: string, network: string): boolean {
    const c = parseCidr(network);
    const ip = parseIp(address);
    if (c.error || ip === undefined) return false;
    return ip === c.base! || ip === c.base! + blockSize(c.prefix!) - 1;
}
