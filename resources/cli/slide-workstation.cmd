@echo off
rem The slide-workstation command of an installed app (Windows): the app binary in CLI mode.
rem Installed at <install dir>\resources\cli; add that folder to PATH for credential_process.
setlocal
set "APP=%~dp0..\..\SlideWorkstation.exe"
if not exist "%APP%" (
  echo slide-workstation: the app binary was not found next to %~dp0; reinstall the app. 1>&2
  exit /b 70
)
"%APP%" --cli %*
exit /b %ERRORLEVEL%
