//! Virtual MFA devices: CreateVirtualMFADevice (returns the TOTP seed), EnableMFADevice (two
//! consecutive codes), DeactivateMFADevice, DeleteVirtualMFADevice, List(Virtual)MFADevices.

use http::StatusCode;

use super::*;
use crate::world::{ids, RawMfa, RawVirtualMfa};

fn serial(call: &Call<'_>, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:mfa{path}{name}",
        call.partition(),
        call.account()
    )
}

pub(super) fn create_virtual(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "VirtualMFADeviceName")?.to_string();
    check_name(&name, "virtualMFADeviceName", 226)?;
    let path = path_param(call)?;
    let sn = serial(call, &path, &name);
    call.authorize("iam:CreateVirtualMFADevice", &sn)?;
    let seed = ids::totp_seed();
    let created = now(call);
    call.state.live.change(|raw, world| {
        let taken = raw
            .virtual_mfa_devices
            .iter()
            .any(|d| d.account == call.account() && d.name == name)
            || world
                .users
                .iter()
                .any(|u| u.mfa_devices.iter().any(|d| d.serial == sn));
        if taken {
            return Err(exists(
                "MFADevice entity at the same path and name already exists.",
            ));
        }
        raw.virtual_mfa_devices.push(RawVirtualMfa {
            account: call.account().to_string(),
            name: name.clone(),
            path: (path != "/").then(|| path.clone()),
            secret_base32: seed.clone(),
            created: Some(created.clone()),
        });
        Ok::<_, QueryError>(())
    })?;
    use base64::Engine;
    // Base32StringSeed is a blob: the base32 text, base64-encoded on the wire.
    let blob = base64::engine::general_purpose::STANDARD.encode(seed.as_bytes());
    ok(call, |x| {
        x.open("VirtualMFADevice")
            .leaf("SerialNumber", &sn)
            .leaf("Base32StringSeed", &blob)
            .close("VirtualMFADevice");
    })
}

pub(super) fn enable(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = super::users::user_param(call)?;
    let sn = required(call, "SerialNumber")?.to_string();
    let code1 = required(call, "AuthenticationCode1")?.to_string();
    let code2 = required(call, "AuthenticationCode2")?.to_string();
    let user_arn = super::users::find(call, &call.view.world, &name)
        .map(|u| u.arn.clone())
        .unwrap_or_else(|_| super::users::user_arn(call, "/", &name));
    call.authorize("iam:EnableMFADevice", &user_arn)?;
    let now_step = call.state.clock.now().div_euclid(30);
    let enabled = now(call);
    call.state.live.change(|raw, world| {
        super::users::find(call, world, &name)?;
        let partition = world.settings.partition.clone();
        let idx = raw
            .virtual_mfa_devices
            .iter()
            .position(|d| {
                format!(
                    "arn:{partition}:iam::{}:mfa{}{}",
                    d.account,
                    d.path.as_deref().unwrap_or("/"),
                    d.name
                ) == sn
            })
            .ok_or_else(|| {
                no_such(format!(
                    "VirtualMFADevice with serial number {sn} doesn't exist."
                ))
            })?;
        let device = &raw.virtual_mfa_devices[idx];
        let secret = crate::totp::decode_base32(&device.secret_base32).unwrap_or_default();
        // Two consecutive codes, the second one current or at most a few steps old.
        let valid = (now_step - 4..=now_step).any(|s| {
            s > 0
                && crate::totp::code_at_step(&secret, (s - 1) as u64) == code1
                && crate::totp::code_at_step(&secret, s as u64) == code2
        });
        if !valid {
            return Err(QueryError::new(
                StatusCode::FORBIDDEN,
                "InvalidAuthenticationCode",
                "Authentication code for device is not valid.",
            ));
        }
        let device = raw.virtual_mfa_devices.remove(idx);
        let acct = call.account().to_string();
        let u = raw
            .users
            .iter_mut()
            .find(|u| u.account == acct && u.name.eq_ignore_ascii_case(&name))
            .ok_or_else(|| no_such(format!("The user with name {name} cannot be found.")))?;
        if u.mfa_devices.len() >= 8 {
            return Err(QueryError::new(
                StatusCode::CONFLICT,
                "LimitExceeded",
                "Cannot exceed quota for MFADevicesPerUser: 8",
            ));
        }
        u.mfa_devices.push(RawMfa {
            serial: sn.clone(),
            secret_base32: device.secret_base32,
            enabled: Some(enabled.clone()),
        });
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn deactivate(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = super::users::user_param(call)?;
    let sn = required(call, "SerialNumber")?.to_string();
    let user_arn = super::users::find(call, &call.view.world, &name)
        .map(|u| u.arn.clone())
        .unwrap_or_else(|_| super::users::user_arn(call, "/", &name));
    call.authorize("iam:DeactivateMFADevice", &user_arn)?;
    call.state.live.change(|raw, _| {
        let acct = call.account().to_string();
        let u = raw
            .users
            .iter_mut()
            .find(|u| u.account == acct && u.name.eq_ignore_ascii_case(&name))
            .ok_or_else(|| no_such(format!("The user with name {name} cannot be found.")))?;
        let idx = u
            .mfa_devices
            .iter()
            .position(|d| d.serial == sn)
            .ok_or_else(|| {
                no_such(format!(
                    "MFA Device with serial number {sn} does not exist."
                ))
            })?;
        let d = u.mfa_devices.remove(idx);
        // A virtual device goes back to the unassigned list, as in IAM.
        let prefix = format!("arn:{}:iam::{acct}:mfa", call.partition());
        if let Some(rest) = d.serial.strip_prefix(&prefix) {
            let (path, dev) = rest.rsplit_once('/').unwrap_or(("", rest));
            let path = format!("{path}/");
            raw.virtual_mfa_devices.push(RawVirtualMfa {
                account: acct.clone(),
                name: dev.to_string(),
                path: (path != "/").then_some(path),
                secret_base32: d.secret_base32,
                created: None,
            });
        }
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn delete_virtual(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let sn = required(call, "SerialNumber")?.to_string();
    call.authorize("iam:DeleteVirtualMFADevice", &sn)?;
    call.state.live.change(|raw, world| {
        if world
            .users
            .iter()
            .any(|u| u.mfa_devices.iter().any(|d| d.serial == sn))
        {
            return Err(conflict("MFA Device is still in use"));
        }
        let partition = world.settings.partition.clone();
        let before = raw.virtual_mfa_devices.len();
        raw.virtual_mfa_devices.retain(|d| {
            format!(
                "arn:{partition}:iam::{}:mfa{}{}",
                d.account,
                d.path.as_deref().unwrap_or("/"),
                d.name
            ) != sn
        });
        if raw.virtual_mfa_devices.len() == before {
            return Err(no_such(format!(
                "VirtualMFADevice with serial number {sn} doesn't exist."
            )));
        }
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn list(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = super::users::user_param(call)?;
    let world = &call.view.world;
    let u = super::users::find(call, world, &name)?;
    call.authorize("iam:ListMFADevices", &u.arn)?;
    let raw = world
        .raw
        .users
        .iter()
        .find(|r| r.account == u.account && r.name == u.name);
    let devices: Vec<RawMfa> = raw.map(|r| r.mfa_devices.clone()).unwrap_or_default();
    paged(call, "MFADevices", devices, |x, d| {
        x.open("member")
            .leaf("UserName", &u.name)
            .leaf("SerialNumber", &d.serial)
            .leaf(
                "EnableDate",
                d.enabled
                    .as_deref()
                    .unwrap_or(crate::world::ids::EPOCH_DATE),
            )
            .close("member");
    })
}

pub(super) fn list_virtual(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("iam:ListVirtualMFADevices", "*")?;
    let status = call.get("AssignmentStatus").unwrap_or("Any");
    let world = &call.view.world;
    let mut rows: Vec<(String, Option<&crate::world::User>, Option<String>)> = Vec::new();
    if status != "Unassigned" {
        for u in world.users.iter().filter(|u| u.account == call.account()) {
            let raw = world
                .raw
                .users
                .iter()
                .find(|r| r.account == u.account && r.name == u.name);
            for d in raw.map(|r| r.mfa_devices.as_slice()).unwrap_or(&[]) {
                rows.push((d.serial.clone(), Some(u), d.enabled.clone()));
            }
        }
    }
    if status != "Assigned" {
        for d in world
            .raw
            .virtual_mfa_devices
            .iter()
            .filter(|d| d.account == call.account())
        {
            rows.push((
                serial(call, d.path.as_deref().unwrap_or("/"), &d.name),
                None,
                None,
            ));
        }
    }
    paged(call, "VirtualMFADevices", rows, |x, (sn, user, enabled)| {
        x.open("member").leaf("SerialNumber", sn);
        if let Some(u) = user {
            x.open("User")
                .leaf("Path", &u.path)
                .leaf("UserName", &u.name)
                .leaf("UserId", &u.id)
                .leaf("Arn", &u.arn)
                .leaf("CreateDate", &u.created)
                .close("User");
            x.leaf(
                "EnableDate",
                enabled.as_deref().unwrap_or(crate::world::ids::EPOCH_DATE),
            );
        }
        x.close("member");
    })
}
