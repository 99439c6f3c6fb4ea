// The contract between targets and provisioning: a target (AWS, local, existing) only creates the
// topology's machines and hands back this description, one entry per host name; provisioning is
// written once against it.
import * as pulumi from "@pulumi/pulumi";
import type { LabAddresses } from "./render";

export interface LabMachine {
    /** Address the deploying machine uses for SSH. */
    sshHost: pulumi.Output<string>;
    /**
     * The machine's SSH host key (`ssh-ed25519 AAAA...`), pinned on every connection: keystores and passwords
     * travel over them. The target knows it first-hand (it made it, or it is configured), never from the network.
     */
    hostKey: pulumi.Output<string>;
    /** Address inside the lab (what /etc/hosts lists). */
    privateIp: pulumi.Output<string>;
    /** Address clients outside the lab use (the external listener is advertised with it). */
    publicIp: pulumi.Output<string>;
    /**
     * What changes when the machine is replaced (an EC2 instance id, a local machine resource's id, an
     * existing host's address, OS and machine id): part of every step's triggers, so a new machine is
     * provisioned from scratch, and only that machine.
     */
    identity: pulumi.Output<string>;
    /**
     * What this machine's provisioning waits for besides its own outputs (the local machine resource; the
     * broker's data volume and its attachment). Only its own: a machine replaced must not drag the others'
     * steps along with it.
     */
    ready: pulumi.Resource[];
    /**
     * Candidate block devices of a broker's dedicated data volume, to be formatted and mounted at the data
     * dir. Undefined when the target mounts the volume itself, or the host has none.
     */
    dataDevices?: pulumi.Output<string[]>;
    /** The broker's data volume size in GiB, when provisioning grows its filesystem (AWS). */
    dataVolumeGiB?: number;
    /** A broker's rack when the target decides it (AWS: its zone id); else the topology's, from config. */
    rack?: pulumi.Output<string>;
}

export interface LabMachines {
    /** By host name (the topology's). */
    machines: Record<string, LabMachine>;
    sshUser: string;
    sshPort: number;
    sshPrivateKey: pulumi.Output<string>;
    /**
     * Set when the machines outlive the stack (the existing target): `pulumi destroy` then removes what
     * the lab installed, and Kafka's data too when purgeData is set.
     */
    uninstallOnDestroy?: { purgeData: boolean };
}

/** Every host's addresses, by host name, once its machine has them. */
export function labAddresses(lab: LabMachines, hostNames: string[]): pulumi.Output<LabAddresses> {
    return pulumi
        .all(hostNames.map((n) => pulumi.all([lab.machines[n].privateIp, lab.machines[n].publicIp])))
        .apply((pairs) => Object.fromEntries(hostNames.map((n, i) => [n, { privateIp: pairs[i][0], publicIp: pairs[i][1] }])));
}
