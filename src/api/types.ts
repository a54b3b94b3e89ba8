// Wire shapes of the Elemental API (SPEC §7, elemental-openapi.yaml). Field names are the
// server's JSON names. Durations arrive as integer nanoseconds.

export type StringMap = Record<string, string>;
/** Free-form JSON object (install, reset, cloudConfig, osVersionManagement). */
export type JsonObject = { [key: string]: unknown };

export interface ApiCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  severity?: 'Info' | 'Warning' | 'Error' | '';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ApiHostCreateRequest {
  name: string;
  annotations?: StringMap;
  labels?: StringMap;
  pubKey: string;
}

/** All fields optional and omitted when unset. */
export interface ApiHostPatchRequest {
  annotations?: StringMap;
  labels?: StringMap;
  bootstrapped?: boolean;
  installed?: boolean;
  reset?: boolean;
  inPlaceUpdate?: string;
  phase?: string;
  condition?: ApiCondition;
}

export interface ApiHostResponse {
  name?: string;
  annotations?: StringMap;
  labels?: StringMap;
  bootstrapReady?: boolean;
  bootstrapped?: boolean;
  installed?: boolean;
  needsReset?: boolean;
  inPlaceUpgrade?: string;
  osVersionManagement?: JsonObject;
}

export interface ApiBootstrapResponse {
  format?: string;
  config?: string;
}

export interface ApiRegistrationConfig {
  uri?: string;
  caCert?: string;
  token?: string;
  /** Nanoseconds. */
  tokenDuration?: number;
}

export interface ApiAgentConfig {
  workDir?: string;
  hostname?: { useExisting?: boolean; prefix?: string };
  noSmbios?: boolean;
  debug?: boolean;
  osPlugin?: string;
  /** Nanoseconds. */
  reconciliation?: number;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  useSystemCertPool?: boolean;
  postInstall?: { powerOff?: boolean; reboot?: boolean };
  postReset?: { powerOff?: boolean; reboot?: boolean };
}

export interface ApiRegistrationResponse {
  hostLabels?: StringMap;
  hostAnnotations?: StringMap;
  config?: {
    elemental?: {
      registration?: ApiRegistrationConfig;
      agent?: ApiAgentConfig;
      install?: JsonObject;
      reset?: JsonObject;
    };
    cloudConfig?: JsonObject;
  };
}
