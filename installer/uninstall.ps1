<#
.SYNOPSIS
Removes what install.ps1 installed, as listed in PREFIX\install-manifest.txt.

.DESCRIPTION
Runs `spec-kitty service uninstall` if the service was installed, removes the
tray's Run entry, the PATH entry, the files, and the directories install.ps1
created (when empty). install.ps1 copies this script into PREFIX; run from
there it finds PREFIX itself.
#>
[CmdletBinding()]
param(
    [string]$Prefix = $PSScriptRoot,
    [switch]$DryRun,
    [switch]$Force
)
Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

function Fail([string]$Message) {
    [Console]::Error.WriteLine("uninstall.ps1: error: $Message")
    exit 1
}

$Prefix = [IO.Path]::GetFullPath($Prefix).TrimEnd('\')
$manifest = Join-Path $Prefix 'install-manifest.txt'
if (-not (Test-Path -LiteralPath $manifest -PathType Leaf)) {
    Fail "no install manifest at ${manifest}: nothing to uninstall (pass the -Prefix given to install.ps1)"
}
$lines = @(Get-Content -LiteralPath $manifest)
function Entries([string]$Type) {
    foreach ($l in $lines) { if ($l.StartsWith("$Type ")) { $l.Substring($Type.Length + 1) } }
}

# The service goes first, while the binary that removes it is still there.
# The service commands exist only with hosted sync enabled; the service was
# installed with it on, so it is turned on for this one command.
if (@(Entries 'service').Count -gt 0) {
    $exe = Join-Path $Prefix 'spec-kitty.exe'
    if ($DryRun) { Write-Output "would run: $exe service uninstall" }
    else {
        Write-Output "running: $exe service uninstall"
        $saved = $env:SPEC_KITTY_ENABLE_SAAS_SYNC
        $rc = 1
        $env:SPEC_KITTY_ENABLE_SAAS_SYNC = '1'
        try { & $exe service uninstall; $rc = $LASTEXITCODE }
        catch { [Console]::Error.WriteLine("uninstall.ps1: error: cannot run ${exe}: $_") }
        finally { $env:SPEC_KITTY_ENABLE_SAAS_SYNC = $saved }
        if ($rc -ne 0) {
            if ($Force) { [Console]::Error.WriteLine("uninstall.ps1: warning: 'spec-kitty service uninstall' failed (exit $rc); continuing (-Force)") }
            else {
                [Console]::Error.WriteLine("uninstall.ps1: error: 'spec-kitty service uninstall' failed (exit $rc); nothing was removed")
                [Console]::Error.WriteLine("uninstall.ps1: hint: fix the error above and run this again, or add -Force to remove the files anyway")
                exit 1
            }
        }
    }
}

foreach ($name in Entries 'run') {
    $runKey = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Run'
    if ($DryRun) { Write-Output "would remove $runKey\$name" }
    else {
        Remove-ItemProperty -LiteralPath $runKey -Name $name -ErrorAction SilentlyContinue
        Write-Output "removed $runKey\$name"
    }
}

foreach ($dir in Entries 'path') {
    $envKey = 'HKCU:\Environment'
    $rawPath = (Get-Item -LiteralPath $envKey).GetValue('Path', '', 'DoNotExpandEnvironmentNames')
    $parts = @($rawPath -split ';' | Where-Object { $_ -ne '' -and $_ -ne $dir })
    if ($DryRun) { Write-Output "would remove $dir from the user PATH" }
    else {
        Set-ItemProperty -LiteralPath $envKey -Name 'Path' -Value ($parts -join ';') -Type ExpandString
        [Environment]::SetEnvironmentVariable('SPEC_KITTY_INSTALL_REFRESH', '1', 'User')
        [Environment]::SetEnvironmentVariable('SPEC_KITTY_INSTALL_REFRESH', $null, 'User')
        Write-Output "removed $dir from the user PATH"
    }
}

# A running tray holds its executable open.
$tray = Join-Path $Prefix 'spec-kitty-tray.exe'
if (-not $DryRun) {
    Get-Process -Name 'spec-kitty-tray' -ErrorAction SilentlyContinue |
        Where-Object { $_.Path -eq $tray } | Stop-Process -Force -ErrorAction SilentlyContinue
}

foreach ($f in Entries 'file') {
    if (-not (Test-Path -LiteralPath $f)) { Write-Output "already gone: $f" }
    elseif ($DryRun) { Write-Output "would remove $f" }
    else { Remove-Item -LiteralPath $f -Force; Write-Output "removed $f" }
}

if ($DryRun) { Write-Output "would remove $manifest" }
else { Remove-Item -LiteralPath $manifest -Force; Write-Output "removed $manifest" }

# Directories install.ps1 created, deepest first; kept when not empty.
foreach ($d in @(Entries 'dir') | Sort-Object -Property Length -Descending) {
    if (-not (Test-Path -LiteralPath $d -PathType Container)) { continue }
    if ($DryRun) { Write-Output "would remove directory $d (if empty)" }
    elseif (@(Get-ChildItem -LiteralPath $d -Force).Count -eq 0) {
        Remove-Item -LiteralPath $d -Force
        Write-Output "removed directory $d"
    }
    else { Write-Output "kept directory $d (not empty)" }
}

if ($DryRun) { Write-Output 'dry run: nothing was changed' }
else { Write-Output "spec-kitty is uninstalled from $Prefix" }
