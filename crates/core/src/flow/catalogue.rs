//! Every action type of the Flow language, whether Liaison runs it for chat, and the
//! parameters each must carry.

/// What Liaison does with an action type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Run for chat contacts (voice-only parameters take the error branch, as Connect does).
    Runs,
    /// A known action Liaison does not run; it takes its error branch. The text says why.
    Unsupported(&'static str),
}

/// Parameters an action cannot do without.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Required {
    Nothing,
    /// Every one of these.
    All(&'static [&'static str]),
    /// At least one of these.
    OneOf(&'static [&'static str]),
}

struct Entry {
    action_type: &'static str,
    support: Support,
    required: Required,
}

const fn runs(action_type: &'static str, required: Required) -> Entry {
    Entry {
        action_type,
        support: Support::Runs,
        required,
    }
}

const fn unsupported(action_type: &'static str, why: &'static str) -> Entry {
    Entry {
        action_type,
        support: Support::Unsupported(why),
        required: Required::Nothing,
    }
}

const LEX: &str = "Amazon Lex bots are not available in Liaison; use a custom bot participant";
const VOICE: &str = "a voice feature with no meaning for chat";
const PROFILES: &str = "Customer Profiles is not available in Liaison";
const CASES: &str = "Amazon Connect Cases is not available in Liaison";
const WISDOM: &str = "Amazon Q in Connect (Wisdom) is not available in Liaison";
const TASKS: &str = "task contacts are not available in Liaison";

const CATALOGUE: &[Entry] = &[
    runs(
        "MessageParticipant",
        Required::OneOf(&["Text", "SSML", "PromptId", "Media"]),
    ),
    runs(
        "MessageParticipantIteratively",
        Required::All(&["Messages"]),
    ),
    runs("GetParticipantInput", Required::Nothing),
    runs("DisconnectParticipant", Required::Nothing),
    runs(
        "ShowView",
        Required::All(&["ViewResource", "InvocationTimeLimitSeconds"]),
    ),
    runs("Compare", Required::All(&["ComparisonValue"])),
    runs(
        "Wait",
        Required::OneOf(&["TimeLimitSeconds", "TimeoutSeconds"]),
    ),
    runs("EndFlowExecution", Required::Nothing),
    runs("EndFlowModuleExecution", Required::Nothing),
    runs("TransferToFlow", Required::All(&["ContactFlowId"])),
    runs("Loop", Required::All(&["LoopCount"])),
    runs("DistributeByPercentage", Required::Nothing),
    runs("CheckHoursOfOperation", Required::Nothing),
    runs("CheckMetricData", Required::All(&["MetricType"])),
    runs("GetMetricData", Required::Nothing),
    runs(
        "UpdateFlowLoggingBehavior",
        Required::All(&["FlowLoggingBehavior"]),
    ),
    runs("UpdateFlowAttributes", Required::All(&["FlowAttributes"])),
    runs("UpdateContactAttributes", Required::All(&["Attributes"])),
    runs("UpdateContactData", Required::Nothing),
    runs(
        "UpdateContactTargetQueue",
        Required::OneOf(&["QueueId", "AgentId"]),
    ),
    runs("TransferContactToQueue", Required::Nothing),
    runs(
        "DequeueContactAndTransferToQueue",
        Required::OneOf(&["QueueId", "AgentId"]),
    ),
    runs(
        "UpdateContactEventHooks",
        Required::OneOf(&["EventHooks", "EventHooksConfiguration"]),
    ),
    runs(
        "UpdateContactRoutingBehavior",
        Required::OneOf(&["QueuePriority", "QueueTimeAdjustmentSeconds"]),
    ),
    runs(
        "UpdateContactRoutingCriteria",
        Required::All(&["RoutingCriteria"]),
    ),
    runs("UpdateRoutingCriteria", Required::All(&["RoutingCriteria"])),
    runs("UpdateContactRecordingBehavior", Required::Nothing),
    runs(
        "UpdateContactRecordingAndAnalyticsBehavior",
        Required::Nothing,
    ),
    runs("UpdateContactTextToSpeechVoice", Required::Nothing),
    runs("TagContact", Required::All(&["Tags"])),
    runs("UnTagContact", Required::All(&["TagKeys"])),
    runs(
        "InvokeLambdaFunction",
        Required::All(&["LambdaFunctionARN"]),
    ),
    runs("InvokeFlowModule", Required::All(&["FlowModuleId"])),
    unsupported("ConnectParticipantWithLexBot", LEX),
    unsupported("CheckVoiceId", VOICE),
    unsupported("StartVoiceIdStream", VOICE),
    unsupported("CheckOutboundCallStatus", VOICE),
    unsupported("CompleteOutboundCall", VOICE),
    unsupported("TransferContactToAgent", VOICE),
    unsupported("TransferParticipantToThirdParty", VOICE),
    unsupported("UpdateContactCallbackNumber", VOICE),
    unsupported("CreateCallbackContact", VOICE),
    unsupported("UpdateContactMediaStreamingBehavior", VOICE),
    unsupported("UpdatePreviousContactParticipantState", VOICE),
    unsupported(
        "UpdateContactMediaProcessing",
        "in-flight chat message processing is not available in Liaison",
    ),
    unsupported("GetCustomerProfile", PROFILES),
    unsupported("CreateCustomerProfile", PROFILES),
    unsupported("UpdateCustomerProfile", PROFILES),
    unsupported("AssociateContactToCustomerProfile", PROFILES),
    unsupported("GetCustomerProfileObject", PROFILES),
    unsupported("GetCalculatedAttributesForCustomerProfile", PROFILES),
    unsupported("CreateCase", CASES),
    unsupported("GetCase", CASES),
    unsupported("UpdateCase", CASES),
    unsupported("CreateWisdomSession", WISDOM),
    unsupported("CreateTask", TASKS),
    unsupported("ResumeContact", TASKS),
    unsupported(
        "StartOutboundChatContact",
        "outbound SMS chats are not available in Liaison",
    ),
];

fn entry(action_type: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.action_type == action_type)
}

/// How Liaison treats `action_type`; `None` for a type the Flow language does not have.
pub fn support(action_type: &str) -> Option<Support> {
    entry(action_type).map(|e| e.support)
}

pub(crate) fn required(action_type: &str) -> Required {
    entry(action_type).map_or(Required::Nothing, |e| e.required)
}

/// The condition operators of the Flow language.
pub(crate) const OPERATORS: [&str; 8] = [
    "Equals",
    "TextStartsWith",
    "TextEndsWith",
    "TextContains",
    "NumberGreaterThan",
    "NumberGreaterOrEqualTo",
    "NumberLessThan",
    "NumberLessOrEqualTo",
];
