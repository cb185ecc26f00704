<#
.SYNOPSIS
Installs spec-kitty and spec-kitty-tray for the current user (Windows).

.DESCRIPTION
Copies spec-kitty.exe and spec-kitty-tray.exe into -Prefix (default
%LOCALAPPDATA%\Programs\spec-kitty), adds it to the user's PATH (HKCU), and
optionally installs the per-user sync service (-Service, runs
`spec-kitty service install`) and starts the tray at logon (-TrayAutostart,
an HKCU\Software\Microsoft\Windows\CurrentVersion\Run entry).

Everything it does is recorded in PREFIX\install-manifest.txt;
PREFIX\uninstall.ps1 undoes exactly that.

.EXAMPLE
powershell -ExecutionPolicy Bypass -File installer\install.ps1 -From .\bin -Service -TrayAutostart
#>
[CmdletBinding()]
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA 'Programs\spec-kitty'),
    [string]$From = (Join-Path (Get-Location) 'bin'),
    [switch]$Service,
    [switch]$TrayAutostart,
    [switch]$DryRun
)
Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

function Fail([string]$Message) {
    [Console]::Error.WriteLine("install.ps1: error: $Message")
    exit 1
}

$Prefix = [IO.Path]::GetFullPath($Prefix).TrimEnd('\')
$From = [IO.Path]::GetFullPath($From)
$exe = Join-Path $From 'spec-kitty.exe'
$trayExe = Join-Path $From 'spec-kitty-tray.exe'
$uninstaller = Join-Path $PSScriptRoot 'uninstall.ps1'
if (-not (Test-Path -LiteralPath $exe -PathType Leaf)) { Fail "no spec-kitty.exe in $From (build it, or pass -From DIR)" }
if (-not (Test-Path -LiteralPath $uninstaller -PathType Leaf)) { Fail "uninstall.ps1 is missing next to install.ps1 in $PSScriptRoot" }
$serviceExe = Join-Path $From 'spec-kitty-service.exe'
$haveServiceExe = Test-Path -LiteralPath $serviceExe -PathType Leaf
$haveTray = Test-Path -LiteralPath $trayExe -PathType Leaf
if ($TrayAutostart -and -not $haveTray) { Fail "-TrayAutostart given but there is no spec-kitty-tray.exe in $From" }

$manifest = Join-Path $Prefix 'install-manifest.txt'
$records = New-Object System.Collections.Generic.List[string]
function Record([string]$Type, [string]$Value) { $records.Add("$Type $Value") }

# Create a directory and its missing parents, recording each one created.
function New-Dirs([string]$Dir) {
    $missing = @()
    $d = $Dir
    while ($d -and -not (Test-Path -LiteralPath $d -PathType Container)) {
        $missing = @($d) + $missing
        $d = Split-Path -Parent $d
    }
    foreach ($m in $missing) {
        if ($DryRun) { Write-Output "would create directory $m" }
        else { New-Item -ItemType Directory -Path $m | Out-Null; Write-Output "created directory $m" }
        Record 'dir' $m
    }
}

# Copy through a temp file and rename over the target.
function Put([string]$Src, [string]$Dst) {
    if ($DryRun) { Write-Output "would install $Dst" }
    else {
        $tmp = "$Dst.tmp"
        Copy-Item -LiteralPath $Src -Destination $tmp -Force
        try { Move-Item -LiteralPath $tmp -Destination $Dst -Force }
        catch {
            Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
            Fail "cannot replace $Dst (is it running? stop the service with 'spec-kitty service stop' and quit the tray): $_"
        }
        Write-Output "installed $Dst"
    }
    Record 'file' $Dst
}

function Save-Manifest {
    if ($DryRun) { return }
    $lines = @()
    if (Test-Path -LiteralPath $manifest) { $lines += Get-Content -LiteralPath $manifest }
    $lines += $records
    $seen = @{}
    $unique = foreach ($l in $lines) { if ($l -and -not $seen.ContainsKey($l)) { $seen[$l] = $true; $l } }
    Set-Content -LiteralPath $manifest -Value $unique -Encoding UTF8
}

New-Dirs $Prefix
Put $exe (Join-Path $Prefix 'spec-kitty.exe')
# The GUI-subsystem build of `service run`: `spec-kitty service install`
# points the logon task at it so no console window opens at logon.
if ($haveServiceExe) { Put $serviceExe (Join-Path $Prefix 'spec-kitty-service.exe') }
if ($haveTray) { Put $trayExe (Join-Path $Prefix 'spec-kitty-tray.exe') }
else { Write-Output "note: no spec-kitty-tray.exe in $From; the tray is not installed" }
Put $uninstaller (Join-Path $Prefix 'uninstall.ps1')

# User PATH: read and write the raw registry value so %VARIABLES% in it stay
# unexpanded ([Environment]::SetEnvironmentVariable would flatten them).
$envKey = 'HKCU:\Environment'
$rawPath = (Get-Item -LiteralPath $envKey).GetValue('Path', '', 'DoNotExpandEnvironmentNames')
$parts = @($rawPath -split ';' | Where-Object { $_ -ne '' })
if ($parts -notcontains $Prefix) {
    if ($DryRun) { Write-Output "would add $Prefix to the user PATH" }
    else {
        $newPath = (@($parts) + $Prefix) -join ';'
        Set-ItemProperty -LiteralPath $envKey -Name 'Path' -Value $newPath -Type ExpandString
        # Setting any user variable through .NET broadcasts WM_SETTINGCHANGE,
        # so new shells see the PATH change.
        [Environment]::SetEnvironmentVariable('SPEC_KITTY_INSTALL_REFRESH', '1', 'User')
        [Environment]::SetEnvironmentVariable('SPEC_KITTY_INSTALL_REFRESH', $null, 'User')
        Write-Output "added $Prefix to the user PATH"
    }
    Record 'path' $Prefix
}

if ($TrayAutostart) {
    $runKey = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Run'
    $value = '"' + (Join-Path $Prefix 'spec-kitty-tray.exe') + '"'
    # A Run entry cannot carry environment variables: record the opt-in and
    # its settings from this shell in tray.env, which the tray reads first
    # (the same three variables `spec-kitty service install` records).
    $trayEnv = @()
    foreach ($name in 'SPEC_KITTY_ENABLE_SAAS_SYNC', 'SPEC_KITTY_SAAS_URL', 'SPEC_KITTY_HOME') {
        $v = [Environment]::GetEnvironmentVariable($name)
        if ($v) {
            if ($v -match "[`r`n]") { Fail "$name contains a line break and cannot be recorded" }
            $trayEnv += "$name=$v"
        }
    }
    if ($trayEnv.Count -gt 0) {
        $envFile = Join-Path $Prefix 'tray.env'
        if ($DryRun) { Write-Output "would write $envFile" }
        else {
            Set-Content -LiteralPath $envFile -Value (@('# Written by install.ps1; read by spec-kitty-tray --env-file.') + $trayEnv) -Encoding UTF8
            Write-Output "wrote $envFile"
        }
        Record 'file' $envFile
        $value += ' --env-file "' + $envFile + '"'
    }
    if ($DryRun) { Write-Output "would set $runKey\spec-kitty-tray = $value" }
    else {
        Set-ItemProperty -LiteralPath $runKey -Name 'spec-kitty-tray' -Value $value
        Write-Output "set $runKey\spec-kitty-tray = $value"
    }
    Record 'run' 'spec-kitty-tray'
}

Save-Manifest

if ($Service) {
    $installed = Join-Path $Prefix 'spec-kitty.exe'
    if ($DryRun) { Write-Output "would run: $installed service install" }
    else {
        Write-Output "running: $installed service install"
        & $installed service install
        $rc = $LASTEXITCODE
        if ($rc -ne 0) {
            [Console]::Error.WriteLine("install.ps1: error: 'spec-kitty service install' failed (exit $rc): the binaries are installed, the service is not")
            [Console]::Error.WriteLine("install.ps1: hint: the service needs hosted sync enabled (SPEC_KITTY_ENABLE_SAAS_SYNC=1); fix the error above and run '$installed service install'")
            [Console]::Error.WriteLine("install.ps1: hint: to undo the install: powershell -ExecutionPolicy Bypass -File '$Prefix\uninstall.ps1'")
            exit 1
        }
        Record 'service' 'spec-kitty-sync'
        Save-Manifest
    }
}

if ($DryRun) { Write-Output 'dry run: nothing was changed'; exit 0 }
Write-Output "spec-kitty is installed in $Prefix (open a new terminal to pick up PATH)"
Write-Output "to undo: powershell -ExecutionPolicy Bypass -File '$Prefix\uninstall.ps1'"
