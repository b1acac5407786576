/**
 * The module SDK: what a module in `modules/<name>/` imports. Types, `defineModule()` and the
 * MI error class; the installer is for the composition root.
 */
export {
  defineModule,
  fieldCounter,
  type Capability,
  type CapabilityDefinition,
  type CapabilityEvent,
  type CapabilityPacket,
  type CapabilitySync,
  type SyncContext,
  type ClusterApi,
  type ClusterLane,
  type ClusterPeer,
  type ClusterSendResult,
  type JobDefinition,
  type JobTagOf,
  type JobRun,
  type ModuleFactory,
  type ModuleHost,
  type ModuleManifest,
  type SipOriginator,
  type StatDefinition,
} from './define-module.js';
export {
  moduleSharingTags,
  standaloneSharingTags,
  type ModuleSharingTags,
  type SharingTagChange,
  type SharingTagState,
  type SharingTags,
} from './sharing-tags.js';
export { endsWithNewline, fileSize, syncDir } from './files.js';
export { loadModules, DEFAULT_MODULE_PATH } from './loader.js';
export { orderModules, parseModuleParams } from './order.js';
export {
  installModules,
  type InstalledModules,
  type MiCommandSink,
  type ModuleRegistries,
} from './install.js';
export { MI_CODES, MiError } from './mi-error.js';
export { configError } from './config-error.js';
export { MiParams } from './mi-params.js';
export type {
  MiCallContext,
  MiCommandDefinition,
  MiHandler,
  MiParamSpec,
  MiParamType,
  MiRecipe,
  MiRequestId,
  MiResult,
  MiValue,
} from './mi-types.js';
export type { EventDefinition, EventParams } from '../core/events.js';
export type { Clock, TimerHandle } from '../core/clock.js';
export type { Logger } from '../core/logger.js';
export type { ScriptFunctions, ScriptFunctionImpl } from '../script/functions.js';
export type { BranchOptions, ScriptContext } from '../script/context.js';
export type { ReceiveInfo, Protocol, SendTarget, SocketInfo } from '../transport/types.js';
export type { UacRequest, UacResult } from '../proxy/uac.js';
export type { StatKind } from '../core/stats.js';
// The SIP message layer, so a module reads and builds messages without reaching into src/.
export * from '../sip/index.js';
