// install (SPEC §8): cloud-init once, install once, report installed; then the post action.
import type { AgentContext } from '../agent';
import type { ApiRegistrationResponse } from '../api/types';
import { log } from '../log';
import { ConditionType, Phase, Reason, failed, ready } from './conditions';
import { conditionMessage, patch, pluginJson, postAction, reportCondition, reportPhase, retry, step } from './common';

export async function install(ctx: AgentContext): Promise<void> {
  await reportPhase(ctx, Phase.installing);
  let cloudConfigApplied = false;
  let installed = false;
  let reason: string = Reason.installationFailed;
  await retry(
    ctx,
    'installing',
    async () => {
      reason = Reason.installationFailed;
      let registration: ApiRegistrationResponse | undefined;
      if (!cloudConfigApplied || !installed) {
        registration = await step('getting remote Registration', () => ctx.client.getRegistration());
      }
      if (!cloudConfigApplied) {
        reason = Reason.cloudConfigInstallationFailed;
        await step('installing cloud config', () => ctx.plugin.applyCloudInit(pluginJson(registration?.config?.cloudConfig)));
        cloudConfigApplied = true;
        reason = Reason.installationFailed;
        log.info('cloud config applied');
      }
      if (!installed) {
        await step('installing host', () => ctx.plugin.install(pluginJson(registration?.config?.elemental?.install)));
        installed = true;
        log.info('install config applied');
      }
      await step('patching host with installation successful', () =>
        patch(ctx, { installed: true, condition: ready(ConditionType.installationReady) }),
      );
    },
    (err) => reportCondition(ctx, failed(ConditionType.installationReady, reason, conditionMessage(err))),
  );
  log.info('installation complete');
  await postAction(ctx, ctx.config.agent.postInstall, 'installation');
}
