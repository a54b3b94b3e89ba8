// Phase names, condition types, reasons and messages exactly as the server expects them (SPEC §8).
import type { ApiCondition } from '../api/types';

export const Phase = {
  registering: 'Registering',
  finalizingRegistration: 'Finalizing Registration',
  installing: 'Installing',
  bootstrapping: 'Bootstrapping',
  running: 'Running',
  triggeringReset: 'Triggering Reset',
  resetting: 'Resetting',
  reconcilingOSVersion: 'Reconciling OS Version',
} as const;

export const ConditionType = {
  registrationReady: 'RegistrationReady',
  installationReady: 'InstallationReady',
  bootstrapReady: 'BootstrapReady',
  osVersionReady: 'OSVersionReady',
  resetReady: 'ResetReady',
} as const;

export const Reason = {
  registrationFailed: 'RegistrationFailed',
  waitingForInstallation: 'WaitingForInstallation',
  cloudConfigInstallationFailed: 'CloudConfigInstallationFailed',
  installationFailed: 'InstallationFailed',
  waitingForBootstrap: 'WaitingForBootstrap',
  bootstrapFailed: 'BootstrapFailed',
  osVersionReconciliationFailed: 'OSVersionReconciliationFailed',
  waitingForPostReconcileReboot: 'WaitingForPostReconcileReboot',
  waitingForReset: 'WaitingForReset',
  resetFailed: 'ResetFailed',
} as const;

export const Message = {
  waitingForInstallation: 'Host is registered successfully. Waiting for installation.',
  waitingForBootstrap: 'Waiting for bootstrap to be executed',
  waitingForReset: 'Reset was triggered successfully. Waiting for host to reset.',
  waitingForPostReconcileReboot: 'Waiting for Host to reboot after OS Version has been reconciled.',
} as const;

type Severity = 'Info' | 'Warning' | 'Error';

/** A condition; empty reason/message are omitted on the wire. */
export function condition(type: string, status: boolean, severity: Severity, reason = '', message = ''): ApiCondition {
  const c: ApiCondition = { type, status: status ? 'True' : 'False', severity };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

export const ready = (type: string): ApiCondition => condition(type, true, 'Info');
export const failed = (type: string, reason: string, message: string): ApiCondition => condition(type, false, 'Error', reason, message);
