// electron-builder's Windows signing hook (electron-builder.yml → win.signtoolOptions.sign).
// No key is ever in the repository or on the build machine's disk: the organisation's
// signing command runs with the file to sign, from the environment of the release job:
//   WSI_WINDOWS_SIGN_COMMAND   e.g. 'AzureSignTool sign -kvu $VAULT -kvc $CERT -tr http://timestamp.acs.microsoft.com -td sha256 "{file}"'
//                              or the HSM vendor's signtool wrapper; "{file}" is replaced by the path.
//   WSI_REQUIRE_SIGNING=1      release builds: fail instead of leaving the file unsigned.
// Azure Trusted Signing can instead be configured with electron-builder's win.azureSignOptions
// in the release job's own configuration override (docs/it-guide.md, "Signing").
import { execSync } from 'node:child_process';

export default async function sign(configuration) {
  const template = process.env.WSI_WINDOWS_SIGN_COMMAND;
  if (!template) {
    if (process.env.WSI_REQUIRE_SIGNING === '1') {
      throw new Error(`WSI_WINDOWS_SIGN_COMMAND is not set: refusing to ship ${configuration.path} unsigned.`);
    }
    console.warn(`[sign-windows] ${configuration.path} left unsigned (WSI_WINDOWS_SIGN_COMMAND not set).`);
    return;
  }
  execSync(template.replaceAll('{file}', configuration.path.replaceAll('"', '')), { stdio: 'inherit' });
}
